import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { expect, it } from 'vitest';
import { createPostgresEventStore } from '../../../src/adapters/postgres/index.js';
import { mapError } from '../../../src/adapters/postgres/map-error.js';
import { createEventStore, type NewEvent } from '../../../src/index.js';
import { serverUrl, uniqueSchema, useServerStore } from './support.js';

const fixture = useServerStore('failures');

function batch(n: number): NewEvent[] {
  return Array.from({ length: n }, (_, i) => ({ type: 'Batched', data: { i }, id: randomUUID() }));
}

/** The reason `p` rejects with, to look into beyond its code; `'resolved'` when it did not reject. */
async function caught(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => 'resolved',
    (err: unknown) => err,
  );
}

async function countRows(streamId: string): Promise<number> {
  const { rows } = await fixture.pool.query(
    `SELECT count(*)::int AS n FROM "${fixture.schema}".events WHERE stream_id = $1`,
    [streamId],
  );
  return rows[0].n;
}

it('pg_terminate_backend in the middle of an append leaves nothing written, and a retry with the same ids is idempotent', async () => {
  const id = `terminated-${randomUUID()}`;
  await fixture.store.append(id, batch(1));
  const events = batch(100);

  // An uncommitted row at version 50 makes the append wait inside its INSERT: by then it has moved the stream
  // row on and inserted versions 2..49, all uncommitted, when its connection is killed.
  const blocker = await fixture.pool.connect();
  await blocker.query('BEGIN');
  await blocker.query(
    `INSERT INTO "${fixture.schema}".events (global_position, stream_id, version, id, event_type, event_data, metadata)
     VALUES (1, $1, 50, $2, 'Blocker', '{}', '{}')`,
    [id, randomUUID()],
  );
  const append = fixture.store.append(id, events, { expectedVersion: 1 });
  const outcome = append.then(
    () => 'resolved',
    (err: unknown) => err,
  );
  let pid: number | undefined;
  try {
    for (let tries = 0; pid === undefined && tries < 200; tries++) {
      const { rows } = await fixture.pool.query(
        `SELECT pid FROM pg_stat_activity
          WHERE wait_event_type = 'Lock' AND query LIKE $1 AND pid <> pg_backend_pid()`,
        [`%"${fixture.schema}".append_events%`],
      );
      pid = rows[0]?.pid;
      if (pid === undefined) await new Promise((r) => setTimeout(r, 25));
    }
    expect(pid).toBeDefined();
    // It waits for the blocker's transaction, holding write locks on both tables.
    const { rows: locks } = await fixture.pool.query(
      `SELECT c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
        WHERE l.pid = $1 AND l.mode = 'RowExclusiveLock' AND l.granted AND c.relname IN ('events', 'streams')
        ORDER BY 1`,
      [pid],
    );
    expect(locks.map((r) => r.relname)).toEqual(['events', 'streams']);
    await fixture.pool.query('SELECT pg_terminate_backend($1)', [pid]);
    const err = await outcome;
    expect(err).toMatchObject({ code: 'UNAVAILABLE', streamId: id });
    expect((err as Error).cause).toMatchObject({ code: '57P01' });
  } finally {
    await blocker.query('ROLLBACK');
    blocker.release();
  }

  expect(await countRows(id)).toBe(1);
  expect(await fixture.store.streamVersion(id)).toBe(1);
  const retried = await fixture.store.append(id, events, { expectedVersion: 1 });
  expect(retried.nextExpectedVersion).toBe(101);
  expect(await fixture.store.append(id, events, { expectedVersion: 1 })).toEqual(retried);
  expect(await fixture.store.append(id, events)).toEqual(retried);
  expect(await countRows(id)).toBe(101);
});

it('maps a unique violation, a serialization failure and a deadlock during an append to WRONG_EXPECTED_VERSION, keeping the cause', async () => {
  const table = `"${fixture.schema}".conflicts_${randomUUID().slice(0, 8)}`;
  await fixture.pool.query(`CREATE TABLE ${table} (k int PRIMARY KEY, v int)`);
  await fixture.pool.query(`INSERT INTO ${table} VALUES (1, 0), (2, 0)`);
  const ctx = { operation: 'append' as const, streamId: 's-1', expectedVersion: 3 };

  const unique = await caught(fixture.pool.query(`INSERT INTO ${table} VALUES (1, 1)`));
  const a = await fixture.pool.connect();
  const b = await fixture.pool.connect();
  try {
    await a.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    await a.query(`SELECT * FROM ${table}`);
    await b.query(`UPDATE ${table} SET v = v + 1 WHERE k = 1`);
    const serialization = await caught(a.query(`UPDATE ${table} SET v = v + 1 WHERE k = 1`));
    await a.query('ROLLBACK');

    await a.query('BEGIN');
    await b.query('BEGIN');
    await a.query(`UPDATE ${table} SET v = 10 WHERE k = 1`);
    await b.query(`UPDATE ${table} SET v = 20 WHERE k = 2`);
    const first = a.query(`UPDATE ${table} SET v = 11 WHERE k = 2`).then(
      () => undefined,
      (err: unknown) => err,
    );
    const second = b.query(`UPDATE ${table} SET v = 21 WHERE k = 1`).then(
      () => undefined,
      (err: unknown) => err,
    );
    const deadlock = (await Promise.all([first, second])).find((e) => e !== undefined);
    await a.query('ROLLBACK');
    await b.query('ROLLBACK');

    for (const [err, sqlState] of [
      [unique, '23505'],
      [serialization, '40001'],
      [deadlock, '40P01'],
    ] as const) {
      expect(err).toMatchObject({ code: sqlState });
      const mapped = mapError(err, ctx);
      expect(mapped).toMatchObject({ code: 'WRONG_EXPECTED_VERSION', streamId: 's-1', expectedVersion: 3 });
      expect(mapped.cause).toBe(err);
      // Outside an append the same failure is a backend error, still with its cause.
      expect(mapError(err, { operation: 'readAll' })).toMatchObject({ code: 'BACKEND_ERROR', cause: err });
    }
  } finally {
    a.release();
    b.release();
  }
});

it('maps a statement timeout to TIMEOUT and a missing fixture.schema to BACKEND_ERROR that says how to create it', async () => {
  const client = await fixture.pool.connect();
  try {
    await client.query("SET statement_timeout = '50ms'");
    const timeout = await caught(client.query('SELECT pg_sleep(2)'));
    expect(mapError(timeout, { operation: 'readAll' })).toMatchObject({ code: 'TIMEOUT', cause: timeout });
  } finally {
    await client.query('RESET statement_timeout');
    client.release();
  }
  const bare = await createPostgresEventStore(fixture.pool, {
    schema: uniqueSchema('missing'),
    autoCreate: false,
  });
  const err = await caught(bare.append('s-1', batch(1)));
  expect(err).toMatchObject({ code: 'BACKEND_ERROR' });
  expect((err as Error).message).toMatch(/autoCreate/);
  await bare.close();
});

it('reports a wrong password as UNAUTHORIZED without the password or the URL anywhere in the error', async () => {
  const secret = `s3cret-${randomUUID()}`;
  const url = new URL(serverUrl(fixture.schema));
  url.password = secret;
  const err = await caught(createEventStore(url.toString()));
  expect(err).toMatchObject({ code: 'UNAUTHORIZED' });
  expect((err as Error).cause).toMatchObject({ code: '28P01' });
  const everything = `${(err as Error).message}\n${(err as Error).stack}\n${inspect(err, { depth: 10 })}\n${JSON.stringify(err)}`;
  expect(everything).not.toContain(secret);
  expect(everything).not.toContain(url.toString());
});

it('reports an unreachable server as UNAVAILABLE without the password', async () => {
  const err = await caught(createEventStore('postgres://someone:hunter2-secret@127.0.0.1:1/db?schema=x'));
  expect(err).toMatchObject({ code: 'UNAVAILABLE' });
  expect(inspect(err, { depth: 10 })).not.toContain('hunter2-secret');
});

it('redacts credentials from driver messages it passes on', () => {
  const err = Object.assign(
    new Error('could not use postgres://bob:topsecret@db:5432/x password=topsecret'),
    {
      code: 'XX000',
    },
  );
  const mapped = mapError(err, { operation: 'readAll' });
  expect(mapped).toMatchObject({ code: 'BACKEND_ERROR', cause: err });
  expect(mapped.message).not.toContain('topsecret');
});
