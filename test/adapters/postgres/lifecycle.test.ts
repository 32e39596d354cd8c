import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { expect, it } from 'vitest';
import type { NewEvent } from '../../../src/index.js';
import { untilReadAllReaches, useServerStore } from './support.js';

const fixture = useServerStore('lifecycle');

function batch(n: number, marker: string): NewEvent[] {
  return Array.from({ length: n }, (_, i) => ({ type: 'Personal', data: { marker, i }, id: randomUUID() }));
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Rows of every table in the store's schema whose text carries `marker`, read behind the contract. */
async function rawRowsAnywhere(marker: string): Promise<Record<string, number>> {
  const { rows: tables } = await fixture.pool.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`,
    [fixture.schema],
  );
  const found: Record<string, number> = {};
  for (const { name } of tables) {
    const { rows } = await fixture.pool.query(
      `SELECT count(*)::int AS n FROM "${fixture.schema}"."${name}" t WHERE t::text LIKE $1`,
      [`%${marker}%`],
    );
    found[name] = rows[0].n;
  }
  return found;
}

/** Rows of the events table whose data or id carries `marker`, read behind the contract. */
async function rawRows(marker: string): Promise<number> {
  const { rows } = await fixture.pool.query(
    `SELECT count(*)::int AS n FROM "${fixture.schema}".events WHERE event_data::text LIKE $1`,
    [`%${marker}%`],
  );
  return rows[0].n;
}

it('erases the data of a hard delete, a truncation and enforced retention from every path, the raw table included', async () => {
  const marker = randomUUID();
  const prefix = `erase-${randomUUID()}/`;
  const [hard, truncated, retained] = ['hard', 'truncated', 'retained'].map((s) => `${prefix}${s}`) as [
    string,
    string,
    string,
  ];
  const erasedIds: string[] = [];
  for (const id of [hard, truncated, retained]) {
    const events = batch(3, marker);
    erasedIds.push(...events.map((e) => e.id!));
    await fixture.store.append(id, events);
  }
  await fixture.store.append(truncated, batch(1, 'kept'));
  await fixture.store.append(retained, batch(1, 'kept'));
  expect(await rawRows(marker)).toBe(9);

  await fixture.store.deleteStream(hard, { hard: true });
  await fixture.store.truncateStream(truncated, { before: 4 });
  await fixture.store.setStreamMetadata(retained, { maxCount: 1 });
  expect(await rawRows(marker)).toBe(3);
  await fixture.store.enforceRetention();

  expect(await rawRows(marker)).toBe(0);
  // No table of the schema holds the erased data, or the erased events' ids.
  const anywhere = await rawRowsAnywhere(marker);
  expect(Object.keys(anywhere)).toContain('events');
  expect(Object.values(anywhere).every((n) => n === 0)).toBe(true);
  const { rows: byId } = await fixture.pool.query(
    `SELECT count(*)::int AS n FROM "${fixture.schema}".events WHERE id = ANY($1::uuid[])`,
    [erasedIds],
  );
  expect(byId[0].n).toBe(0);
  const all = await collect(fixture.store.readAll({ filter: { streamPrefix: prefix } }));
  expect(all.filter((e) => JSON.stringify(e.data).includes(marker))).toEqual([]);
  for (const id of [truncated, retained]) {
    expect((await collect(fixture.store.readStream(id))).map((e) => e.data)).toEqual([
      { marker: 'kept', i: 0 },
    ]);
  }
  await expect(collect(fixture.store.readStream(hard))).rejects.toMatchObject({ code: 'STREAM_DELETED' });
});

it('pg_terminate_backend in the middle of a delete leaves nothing deleted, and the delete then succeeds', async () => {
  const id = `killed-delete-${randomUUID()}`;
  await fixture.store.append(id, batch(100, 'kept'));
  // A row lock on the stream row makes delete_stream wait after it deleted the events, before it marks the stream.
  const blocker = await fixture.pool.connect();
  await blocker.query('BEGIN');
  await blocker.query(`SELECT 1 FROM "${fixture.schema}".streams WHERE stream_id = $1 FOR UPDATE`, [id]);
  const outcome = fixture.store.deleteStream(id, { expectedVersion: 100 }).then(
    () => 'resolved',
    (err: unknown) => err,
  );
  try {
    let pid: number | undefined;
    for (let tries = 0; pid === undefined && tries < 400; tries++) {
      const { rows } = await fixture.pool.query(
        `SELECT pid FROM pg_stat_activity
          WHERE wait_event_type = 'Lock' AND query LIKE $1 AND pid <> pg_backend_pid()`,
        [`%"${fixture.schema}".delete_stream%`],
      );
      pid = rows[0]?.pid;
      if (pid === undefined) await new Promise((r) => setTimeout(r, 25));
    }
    expect(pid).toBeDefined();
    await fixture.pool.query('SELECT pg_terminate_backend($1)', [pid]);
    expect(await outcome).toMatchObject({ code: 'UNAVAILABLE', streamId: id });
  } finally {
    await blocker.query('ROLLBACK');
    blocker.release();
  }
  expect(await collect(fixture.store.readStream(id))).toHaveLength(100);
  expect(await fixture.store.streamVersion(id)).toBe(100);
  await expect(fixture.store.deleteStream(id, { expectedVersion: 100 })).resolves.toEqual({ version: 100 });
  expect(await collect(fixture.store.readStream(id))).toEqual([]);
});

/**
 * Runs `operation` while `blocker` holds a row lock it needs, waits until its backend waits on that lock (its query
 * text contains `queryPart`), kills that backend with pg_terminate_backend from another connection, and returns
 * the operation's error.
 */
async function killWhileBlocked(
  lockSql: string,
  lockParams: unknown[],
  queryPart: string,
  operation: () => Promise<unknown>,
): Promise<unknown> {
  const blocker: pg.PoolClient = await fixture.pool.connect();
  await blocker.query('BEGIN');
  await blocker.query(lockSql, lockParams);
  const outcome = operation().then(
    () => 'resolved',
    (err: unknown) => err,
  );
  try {
    let pid: number | undefined;
    for (let tries = 0; pid === undefined && tries < 2_000; tries++) {
      const { rows } = await fixture.pool.query(
        `SELECT pid FROM pg_stat_activity
          WHERE wait_event_type = 'Lock' AND query LIKE $1 AND query LIKE $2 AND pid <> pg_backend_pid()`,
        [`%${queryPart}%`, `%"${fixture.schema}"%`],
      );
      pid = rows[0]?.pid;
      if (pid === undefined) await new Promise((r) => setTimeout(r, 25));
    }
    expect(pid).toBeDefined();
    await fixture.pool.query('SELECT pg_terminate_backend($1)', [pid]);
    return await outcome;
  } finally {
    await blocker.query('ROLLBACK');
    blocker.release();
  }
}

const lockStreamRow = () => `SELECT 1 FROM "${fixture.schema}".streams WHERE stream_id = $1 FOR UPDATE`;

async function rawVersions(streamId: string): Promise<number[]> {
  const { rows } = await fixture.pool.query(
    `SELECT version::int AS v FROM "${fixture.schema}".events WHERE stream_id = $1 ORDER BY version`,
    [streamId],
  );
  return rows.map((r: { v: number }) => r.v);
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

it('pg_terminate_backend in the middle of a hard delete leaves no row deleted and no tombstone', async () => {
  const id = `killed-hard-${randomUUID()}`;
  await fixture.store.append(id, batch(50, 'kept'));
  await fixture.store.setStreamMetadata(id, { custom: { owner: 'ada' } });
  // delete_stream deletes the events, then waits on the stream row to write the tombstone.
  const err = await killWhileBlocked(lockStreamRow(), [id], 'delete_stream', () =>
    fixture.store.deleteStream(id, { hard: true }),
  );
  expect(err).toMatchObject({ code: 'UNAVAILABLE', streamId: id });
  expect(await rawVersions(id)).toEqual(range(1, 50));
  expect(await fixture.store.streamVersion(id)).toBe(50);
  expect(await fixture.store.getStreamMetadata(id)).toEqual({
    metadata: { custom: { owner: 'ada' } },
    metadataVersion: 1,
  });
  await fixture.store.deleteStream(id, { hard: true });
  expect(await rawVersions(id)).toEqual([]);
  await expect(fixture.store.streamVersion(id)).rejects.toMatchObject({ code: 'STREAM_DELETED' });
});

it('pg_terminate_backend in the middle of a truncation leaves every event and the truncation point as they were', async () => {
  const id = `killed-truncate-${randomUUID()}`;
  await fixture.store.append(id, batch(50, 'kept'));
  const err = await killWhileBlocked(lockStreamRow(), [id], 'truncate_stream', () =>
    fixture.store.truncateStream(id, { before: 40 }),
  );
  expect(err).toMatchObject({ code: 'UNAVAILABLE', streamId: id });
  expect(await rawVersions(id)).toEqual(range(1, 50));
  expect(await fixture.store.getStreamMetadata(id)).toEqual({ metadata: {}, metadataVersion: 0 });
  await fixture.store.truncateStream(id, { before: 40 });
  expect(await rawVersions(id)).toEqual(range(40, 50));
});

it('pg_terminate_backend in the middle of a retention sweep loses its batch whole, and the next sweep finishes it', async () => {
  const id = `killed-sweep-${randomUUID()}`;
  await fixture.store.append(id, batch(50, 'kept'));
  await fixture.store.setStreamMetadata(id, { maxCount: 1 });
  // The sweep's batch deletes versions 1..49 in one statement; a lock on version 1 makes it wait.
  const err = await killWhileBlocked(
    `SELECT 1 FROM "${fixture.schema}".events WHERE stream_id = $1 AND version = 1 FOR UPDATE`,
    [id],
    'WITH ms AS MATERIALIZED',
    () => fixture.store.enforceRetention(),
  );
  expect(err).toMatchObject({ code: 'UNAVAILABLE' });
  expect(await rawVersions(id)).toEqual(range(1, 50));
  expect((await collect(fixture.store.readStream(id))).map((e) => e.version)).toEqual([50]);
  expect((await fixture.store.enforceRetention()).removedEvents).toBeGreaterThanOrEqual(49);
  expect(await rawVersions(id)).toEqual([50]);
});

it('positions are never reused: events appended after deletes, truncations and a sweep are past every earlier one', async () => {
  const prefix = `reuse-${randomUUID()}/`;
  const streams = ['soft', 'hard', 'truncated', 'retained'].map((s) => `${prefix}${s}`);
  const before: bigint[] = [];
  for (const id of streams) before.push((await fixture.store.append(id, batch(5, 'old'))).lastPosition!);
  const highest = [...before].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)).at(-1)!;
  await fixture.store.deleteStream(streams[0]!);
  await fixture.store.deleteStream(streams[1]!, { hard: true });
  await fixture.store.truncateStream(streams[2]!, { before: 6 });
  await fixture.store.setStreamMetadata(streams[3]!, { maxCount: 1 });
  await fixture.store.enforceRetention();
  const { rows } = await fixture.pool.query(
    `SELECT count(*)::int AS n FROM "${fixture.schema}".events WHERE starts_with(stream_id, $1)`,
    [prefix],
  );
  expect(rows[0].n).toBe(1);

  const after = [
    await fixture.store.append(streams[0]!, batch(1, 'new'), { expectedVersion: 'no_stream' }),
    await fixture.store.append(streams[2]!, batch(1, 'new')),
    await fixture.store.append(streams[3]!, batch(1, 'new')),
    await fixture.store.append(`${prefix}fresh`, batch(1, 'new')),
  ].map((r) => r.lastPosition!);
  for (const p of after) expect(p > highest).toBe(true);
  expect(new Set(after).size).toBe(after.length);
  expect(after.every((p) => !before.includes(p))).toBe(true);
});

it('readAll does not skip across deletes: a reader resuming after a deleted position sees every later event, in order, once', async () => {
  const prefix = `noskip-${randomUUID()}/`;
  const [a, b, c] = ['a', 'b', 'c'].map((s) => `${prefix}${s}`) as [string, string, string];
  await fixture.store.append(a, batch(3, 'a'));
  const lastB = (await fixture.store.append(b, batch(3, 'b'))).lastPosition!;
  await untilReadAllReaches(fixture.pool, lastB);
  const seen = await collect(fixture.store.readAll({ filter: { streamPrefix: prefix } }));
  expect(seen).toHaveLength(6);
  const cursor = seen[seen.length - 1]!.position;

  // An append held open in a transaction that started before the deletes and the appends below.
  const held = await fixture.pool.connect();
  await held.query('BEGIN');
  await held.query(
    `SELECT o_status FROM "${fixture.schema}".append_events($1, -1, $2::uuid[], $3::text[], $4::text[], $5::text[])`,
    [c, [randomUUID()], ['Held'], ['{"held":true}'], ['{}']],
  );
  let recreated: bigint;
  try {
    // The cursor's own event goes, and so do events before it; a soft-deleted stream comes back with a new event.
    await fixture.store.deleteStream(b, { hard: true });
    await fixture.store.deleteStream(a);
    recreated = (await fixture.store.append(a, batch(1, 'recreated'), { expectedVersion: 'no_stream' }))
      .lastPosition!;
    expect(recreated > cursor).toBe(true);
    // readAll holds the recreated event back while the older transaction is open.
    expect(await collect(fixture.store.readAll({ after: cursor, filter: { streamPrefix: prefix } }))).toEqual(
      [],
    );
    await held.query('COMMIT');
  } catch (err) {
    await held.query('ROLLBACK');
    throw err;
  } finally {
    held.release();
  }
  await untilReadAllReaches(fixture.pool, recreated);
  const resumed = await collect(fixture.store.readAll({ after: cursor, filter: { streamPrefix: prefix } }));
  expect(resumed.map((e) => `${e.streamId.slice(prefix.length)}@${e.version}:${e.type}`)).toEqual([
    'c@1:Held',
    'a@4:Personal',
  ]);
  expect(resumed[0]!.position > cursor).toBe(true);
  expect(resumed[0]!.position < resumed[1]!.position).toBe(true);
  // From the start, only what is left: nothing of b, a's recreated event, c's held one.
  const all = await collect(fixture.store.readAll({ filter: { streamPrefix: prefix } }));
  expect(all.map((e) => e.position)).toEqual(resumed.map((e) => e.position));
});
