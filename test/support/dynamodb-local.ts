import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import type { StartedBackend } from './backends.js';
import { freePort } from './free-port.js';

/** The environment variable that points the tests at a running DynamoDB (Local) instead of starting one. */
export const DYNAMODB_ENDPOINT_ENV = 'EVENTSTORE_TEST_DYNAMODB_ENDPOINT';

function hasJava(): boolean {
  try {
    execFileSync('java', ['-version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Resolves once DynamoDB Local answers HTTP (any status), or rejects after `timeoutMs`. */
async function waitUntilAnswering(endpoint: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`DynamoDB Local exited with code ${child.exitCode}`);
    try {
      await fetch(endpoint, { signal: AbortSignal.timeout(1_000) });
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`DynamoDB Local did not answer within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export interface DynamoDBLocalOptions {
  /**
   * A directory for the database file (`-dbPath`) instead of `-inMemory`, so that the data outlives a killed and
   * restarted process. The caller creates and removes it.
   */
  dbPath?: string;
  /** The port to listen on (to restart on the same endpoint); a free one by default. */
  port?: number;
  /** Start one even when EVENTSTORE_TEST_DYNAMODB_ENDPOINT is set: for tests that stop or kill their own. */
  own?: boolean;
}

/**
 * The endpoint of a DynamoDB to test against: EVENTSTORE_TEST_DYNAMODB_ENDPOINT when set, otherwise a DynamoDB Local
 * started here (in memory, on a free port) from the jar scripts/fetch-dynamodb-local.mjs caches, stopped on
 * teardown. Without Java it says so in one line; under CI=true that fails the run, otherwise the DynamoDB test
 * files fail with the same message.
 */
export async function startDynamoDBLocal(
  options: DynamoDBLocalOptions = {},
): Promise<StartedBackend & { pid?: number }> {
  const given = process.env[DYNAMODB_ENDPOINT_ENV];
  if (given && !options.own) return { url: given, stop: async () => {} };
  if (!hasJava() && options.own) throw new Error('DynamoDB Local needs Java 17+ on PATH');
  if (!hasJava()) {
    const line = `DynamoDB Local needs Java 17+ on PATH (or set ${DYNAMODB_ENDPOINT_ENV}); the DynamoDB tests cannot run.`;
    if (process.env.CI === 'true') throw new Error(line);
    console.warn(line);
    return { url: `unavailable:${line}`, stop: async () => {} };
  }
  const { fetchDynamoDBLocal } = await import('../../scripts/fetch-dynamodb-local.mjs');
  const dir = fetchDynamoDBLocal();
  const port = options.port ?? (await freePort());
  const child = spawn(
    'java',
    [
      `-Djava.library.path=${join(dir, 'DynamoDBLocal_lib')}`,
      '-jar',
      join(dir, 'DynamoDBLocal.jar'),
      ...(options.dbPath === undefined ? ['-inMemory'] : ['-dbPath', options.dbPath]),
      '-sharedDb',
      '-disableTelemetry',
      '-port',
      String(port),
    ],
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    // A JVM start on two busy cores can take a minute or more; a deadline, not a retry.
    await waitUntilAnswering(endpoint, child, 150_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${stderr}`);
  }
  return {
    url: endpoint,
    pid: child.pid,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
