import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createEventStore, type EventStore } from '../../../src/index.js';
import { checkAgainstAttempts, runWriters } from '../../support/fault-workload.js';
import { type StartedPostgres, startPostgres } from '../../support/postgres-server.js';
import { uniqueSchema } from './support.js';

/**
 * Concurrent writers with retries while backends are terminated and the server is restarted (fast shutdown, then
 * start), on a server this file starts for itself. Checked against the acknowledged appends: none lost, none
 * duplicated, versions contiguous, readAll positions strictly increasing; unacknowledged appends whole or absent.
 */
const RUN_MS = 15_000;

let server: StartedPostgres | undefined;

beforeAll(async () => {
  if (process.env.EVENTSTORE_TEST_POSTGRES_URL) {
    throw new Error(
      'This test restarts a server it starts itself; unset EVENTSTORE_TEST_POSTGRES_URL to run it',
    );
  }
  server = await startPostgres({ settings: { fsync: 'off' } });
});

afterAll(async () => {
  await server?.stop();
});

/** Ends every other session on the server; a failure (the server is down) is part of the chaos. */
async function terminateBackends(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    const { rows } = await client.query(
      `SELECT count(*)::int AS n FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE pid <> pg_backend_pid() AND backend_type = 'client backend') t`,
    );
    return rows[0].n;
  } catch {
    return 0;
  } finally {
    await client.end().catch(() => {});
  }
}

it('loses and duplicates nothing under pg_terminate_backend and server restarts with concurrent retrying writers', async () => {
  const url = new URL(server!.url);
  url.searchParams.set('schema', uniqueSchema('faults'));
  // The schema is created, and the outcome checked, through stores with the default deadline: on a loaded machine
  // the migrations can outlast the writers' short deadline, and that start-up is not what this test is about.
  const relaxed = url.toString();
  const setup = await createEventStore(relaxed);
  await setup.streamVersion('create-the-schema');
  await setup.close();
  // Short deadlines, so that writers notice a terminated backend or a restarting server quickly and retry.
  url.searchParams.set('timeout_ms', '5000');
  url.searchParams.set('connect_timeout_ms', '2000');
  url.searchParams.set('max', '6');
  const store: EventStore = await createEventStore(url.toString());
  const unexpected: unknown[] = [];
  const failures: Record<string, number> = {};
  let stop = false;
  let terminated = 0;
  let restarts = 0;
  const chaos = (async () => {
    const start = Date.now();
    while (Date.now() - start < RUN_MS) {
      await new Promise((r) => setTimeout(r, 300 + Math.random() * 400));
      const elapsed = Date.now() - start;
      if ((restarts === 0 && elapsed > RUN_MS / 3) || (restarts === 1 && elapsed > (2 * RUN_MS) / 3)) {
        await server!.restart!();
        restarts++;
      } else {
        terminated += await terminateBackends(server!.url);
      }
    }
    stop = true;
  })();
  try {
    const [attempts] = await Promise.all([
      runWriters({
        store: () => store,
        writers: 8,
        streamsPerWriter: 4,
        stop: () => stop,
        unexpected,
        failures,
      }),
      chaos,
    ]);
    expect(unexpected).toEqual([]);
    const checker = await createEventStore(relaxed);
    const counts = await checkAgainstAttempts(checker, attempts).finally(() => checker.close());
    console.info(
      `PostgreSQL faults: ${counts.acknowledged} acknowledged appends (${counts.events} events), ` +
        `${counts.unacknowledged} unacknowledged (${counts.unacknowledgedPresent} present whole), ` +
        `${terminated} backends terminated, ${restarts} restarts, failed attempts retried ${JSON.stringify(failures)}; ` +
        '0 lost, 0 duplicated',
    );
    expect(Object.values(failures).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(restarts).toBe(2);
    expect(terminated).toBeGreaterThan(0);
    expect(counts.acknowledged).toBeGreaterThan(100);
  } finally {
    stop = true;
    await chaos.catch(() => {});
    await store.close();
  }
});
