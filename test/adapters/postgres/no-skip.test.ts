import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  createPostgresEventStore,
  ORDINAL_BITS,
  type PostgresEventStore,
} from '../../../src/adapters/postgres/index.js';
import type { RecordedEvent } from '../../../src/index.js';
import { testPool, uniqueSchema } from './support.js';

const schema = uniqueSchema('noskip');
let pool: pg.Pool;
let store: PostgresEventStore;

beforeAll(async () => {
  pool = testPool(6);
  store = await createPostgresEventStore(pool, { schema });
});

afterAll(async () => {
  await store.close();
  await pool.end();
});

async function tail(prefix: string, after: bigint): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const e of store.readAll({ after, filter: { streamPrefix: prefix } })) out.push(e);
  return out;
}

/** Starts an append in a transaction that stays open until the caller commits or rolls it back. */
async function holdAppend(streamId: string, eventId: string): Promise<pg.PoolClient> {
  const client = await pool.connect();
  await client.query('BEGIN');
  const { rows } = await client.query(
    `SELECT o_status FROM "${schema}".append_events($1, -1, $2::uuid[], $3::text[], $4::text[], $5::text[])`,
    [streamId, [eventId], ['Held'], ['{"held":true}'], ['{}']],
  );
  expect(rows[0].o_status).toBe('written');
  return client;
}

it('a tailing reader does not see a later commit while an earlier transaction is open, then sees both in order', async () => {
  const prefix = `${randomUUID()}/`;
  const first = await store.append(`${prefix}first`, [{ type: 'First', data: 1 }]);
  const seen = await tail(prefix, 0n);
  expect(seen.map((e) => e.type)).toEqual(['First']);
  const cursor = seen[0]!.position;

  const heldId = randomUUID();
  const held = await holdAppend(`${prefix}held`, heldId);
  try {
    // The later append commits first: with a plain sequence its position would be handed out after the held
    // one's, and a reader polling `position > last` would move past the held event before it committed.
    const later = await store.append(`${prefix}later`, [{ type: 'Later', data: 2 }]);
    expect(later.lastPosition! > first.lastPosition!).toBe(true);
    // The later event is committed and readable in its stream …
    expect(await store.streamVersion(`${prefix}later`)).toBe(1);
    // … but readAll holds it back while an older transaction is still open.
    expect(await tail(prefix, cursor)).toEqual([]);
    expect(await tail(prefix, 0n)).toHaveLength(1);
    await held.query('COMMIT');
  } catch (err) {
    await held.query('ROLLBACK');
    throw err;
  } finally {
    held.release();
  }

  const after = await tail(prefix, cursor);
  expect(after.map((e) => e.type)).toEqual(['Held', 'Later']);
  expect(after[0]!.id).toBe(heldId);
  expect(after[0]!.position < after[1]!.position).toBe(true);
  expect(after[0]!.position > cursor).toBe(true);
  // The position carries the writing transaction's id in its high bits.
  const xids = after.map((e) => e.position >> BigInt(ORDINAL_BITS));
  expect(xids[0]! < xids[1]!).toBe(true);
});

it('a rolled-back append leaves no hole: the reader moves on to the later events', async () => {
  const prefix = `${randomUUID()}/`;
  const held = await holdAppend(`${prefix}held`, randomUUID());
  try {
    await store.append(`${prefix}later`, [{ type: 'Later', data: 1 }]);
    expect(await tail(prefix, 0n)).toEqual([]);
  } finally {
    await held.query('ROLLBACK');
    held.release();
  }
  const events = await tail(prefix, 0n);
  expect(events.map((e) => e.type)).toEqual(['Later']);
  expect(await store.streamVersion(`${prefix}held`)).toBe(0);
});

it('positions follow versions within a stream under concurrent appends from many connections', async () => {
  const id = `race-${randomUUID()}`;
  await Promise.all(Array.from({ length: 40 }, (_, i) => store.append(id, [{ type: 'Raced', data: i }])));
  const events: RecordedEvent[] = [];
  for await (const e of store.readStream(id)) events.push(e);
  expect(events.map((e) => e.version)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  for (let i = 1; i < events.length; i++) expect(events[i]!.position > events[i - 1]!.position).toBe(true);
});
