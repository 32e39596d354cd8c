import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** A TypeScript script under test/support/processes, run by Node with tsx's loader. */
export function spawnScript(name: string, args: string[] = []): ChildProcess {
  const script = fileURLToPath(new URL(`./${name}`, import.meta.url));
  return spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** The child's stdout, one JSON object per line; rejects when it exits first. */
export function jsonLines(child: ChildProcess): AsyncIterator<Record<string, unknown>> {
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });
  return {
    async next() {
      const line = await lines.next();
      if (line.done) throw new Error(`The child exited (${child.exitCode ?? child.signalCode}):\n${stderr}`);
      return { done: false, value: JSON.parse(line.value) as Record<string, unknown> };
    },
  };
}

/** Waits until the child has exited, killing it with SIGKILL after `graceMs`. */
export async function stopChild(
  child: ChildProcess,
  signal: NodeJS.Signals = 'SIGTERM',
  graceMs = 5_000,
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGCONT');
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
