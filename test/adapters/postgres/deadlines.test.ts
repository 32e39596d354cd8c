import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mapError } from '../../../src/adapters/postgres/map-error.js';
import { createEventStore, type EventStore, type NewEvent } from '../../../src/index.js';
import { freeze, parentPid, timed } from '../../support/freeze.js';
import { startPostgres } from '../../support/postgres-server.js';
import { uniqueSchema } from './support.js';

/**
 * A PostgreSQL server this file starts for itself (the rig's are shared with the files running beside it), frozen
 * with SIGSTOP: the postmaster and every backend, so nothing on the server side answers, as when a machine hangs.
 */
const DEADLINE_MS = 1_500;
const CONNECT_MS = 1_000;
/** Above the deadline: the client's grace after statement_timeout (250 ms) and a loaded machine's timers. */
const SLACK_MS = 1_500;

let server: { url: string; stop: () => Promise<void> } | undefined;
let postmaster = 0;

function storeUrl(schema: string): string {
  const url = new URL(server!.url);
  url.searchParams.set('schema', schema);
  url.searchParams.set('timeout_ms', String(DEADLINE_MS));
  url.searchParams.set('connect_timeout_ms', String(CONNECT_MS));
  return url.toString();
}

beforeAll(async () => {
  if (process.env.EVENTSTORE_TEST_POSTGRES_URL) {
    throw new Error(
      'This test freezes a server it starts itself; unset EVENTSTORE_TEST_POSTGRES_URL to run it',
    );
  }
  server = await startPostgres({ settings: { fsync: 'off' } });
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  postmaster = parentPid(rows[0]!.pid)!;
  await client.end();
  expect(postmaster).toBeGreaterThan(1);
});

afterAll(async () => {
  await server?.stop();
});

function events(n: number): NewEvent[] {
  return Array.from({ length: n }, (_, i) => ({ type: 'Frozen', data: { i }, id: randomUUID() }));
}

async function drain(it: AsyncIterable<unknown>): Promise<number> {
  let n = 0;
  for await (const _ of it) n++;
  return n;
}

it('a frozen server fails append, streamVersion, readAll and a new store with TIMEOUT within the deadline, and the same store works after SIGCONT', async () => {
  const schema = uniqueSchema('frozen');
  const store: EventStore = await createEventStore(storeUrl(schema));
  const stream = `frozen-${randomUUID()}`;
  try {
    await store.append(stream, events(2));
    expect(await drain(store.readAll())).toBe(2);

    const pending = events(3);
    const thaw = freeze(postmaster);
    let outcomes: Record<string, { ms: number; error: unknown }>;
    try {
      const [append, version, readAll, open] = await Promise.all([
        timed(store.append(stream, pending, { expectedVersion: 2 })),
        timed(store.streamVersion(stream)),
        timed(drain(store.readAll())),
        timed(createEventStore(storeUrl(uniqueSchema('frozen_new')))),
      ]);
      outcomes = { append: append!, streamVersion: version!, readAll: readAll!, createEventStore: open! };
    } finally {
      thaw();
    }
    for (const [name, outcome] of Object.entries(outcomes)) {
      expect(outcome.error, name).toMatchObject({ code: 'TIMEOUT' });
      expect(outcome.ms, name).toBeLessThan(DEADLINE_MS + SLACK_MS);
    }
    expect((outcomes.append!.error as Error).message).toMatch(/may or may not have been applied/);
    console.info(
      `PostgreSQL frozen (deadline ${DEADLINE_MS} ms, connect ${CONNECT_MS} ms): ${Object.entries(outcomes)
        .map(([name, o]) => `${name} ${Math.round(o.ms)} ms`)
        .join(', ')}`,
    );

    // The same store works again; the timed-out append is retried with the same ids and lands exactly once.
    const retried = await store.append(stream, pending, { expectedVersion: 2 });
    expect(retried.nextExpectedVersion).toBe(5);
    expect(await store.streamVersion(stream)).toBe(5);
    const all = [];
    for await (const e of store.readAll()) all.push(e);
    expect(all.map((e) => e.version)).toEqual([1, 2, 3, 4, 5]);
    expect(all.slice(2).map((e) => e.id)).toEqual(pending.map((e) => e.id));
  } finally {
    await store.close();
  }
});

it('an append the frozen server commits after SIGCONT is recognised by the retry: never written twice', async () => {
  const store = await createEventStore(storeUrl(uniqueSchema('late')));
  const stream = `late-${randomUUID()}`;
  try {
    await store.append(stream, events(1));
    const pending = events(2);
    const thaw = freeze(postmaster);
    let outcome: { ms: number; error: unknown };
    try {
      outcome = await timed(store.append(stream, pending, { expectedVersion: 'any' }));
    } finally {
      thaw();
    }
    expect(outcome.error).toMatchObject({ code: 'TIMEOUT' });
    // 'any' retries match by id: whether the frozen call committed once the server resumed or not, one copy.
    const retried = await store.append(stream, pending);
    expect(retried.nextExpectedVersion).toBe(3);
    expect(await store.streamVersion(stream)).toBe(3);
  } finally {
    await store.close();
  }
});

it('rejects bad timeout_ms / connect_timeout_ms values and options with INVALID_ARGUMENT', async () => {
  const base = new URL(server!.url);
  for (const [param, value] of [
    ['timeout_ms', '0'],
    ['timeout_ms', '-1'],
    ['timeout_ms', '1.5'],
    ['timeout_ms', 'soon'],
    ['timeout_ms', '3600001'],
    ['connect_timeout_ms', ''],
    ['connect_timeout_ms', '1e3'],
  ] as const) {
    const url = new URL(base);
    url.searchParams.set(param, value);
    await expect(createEventStore(url.toString()), `${param}=${value}`).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      argument: 'url',
    });
  }
  for (const options of [
    { timeoutMs: 0 },
    { timeoutMs: '1000' },
    { timeoutMs: 1.5 },
    { connectTimeoutMs: Number.NaN },
    { connectTimeoutMs: -5 },
  ]) {
    await expect(createEventStore(base.toString(), options)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  }
  const both = new URL(base);
  both.searchParams.set('timeout_ms', '1000');
  await expect(createEventStore(both.toString(), { timeoutMs: 2000 })).rejects.toMatchObject({
    code: 'INVALID_ARGUMENT',
  });
  await expect(createEventStore('pglite:memory?connect_timeout_ms=5')).rejects.toMatchObject({
    code: 'INVALID_ARGUMENT',
  });
  await expect(createEventStore('pglite:memory?timeout_ms=nope')).rejects.toMatchObject({
    code: 'INVALID_ARGUMENT',
  });
});

it("maps node-postgres's own deadlines to TIMEOUT, and a dropped connection still to UNAVAILABLE", () => {
  for (const message of [
    'Query read timeout',
    'Connection terminated due to connection timeout',
    'timeout expired',
    'timeout exceeded when trying to connect',
  ]) {
    const err = new Error(message);
    const mapped = mapError(err, { operation: 'append', streamId: 's-1' });
    expect(mapped, message).toMatchObject({ code: 'TIMEOUT', streamId: 's-1', cause: err });
    expect(mapped.message).toMatch(/may or may not have been applied: retry it with the same event ids/);
    expect(mapError(err, { operation: 'readAll' }), message).toMatchObject({ code: 'TIMEOUT' });
  }
  expect(mapError(new Error('Connection terminated unexpectedly'), { operation: 'readAll' })).toMatchObject({
    code: 'UNAVAILABLE',
  });
});
