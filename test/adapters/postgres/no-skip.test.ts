import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { expect, it } from 'vitest';
import { ORDINAL_BITS } from '../../../src/adapters/postgres/positions.js';
import type { RecordedEvent } from '../../../src/index.js';
import { useServerStore } from './support.js';

const fixture = useServerStore('noskip');

async function tail(prefix: string, after: bigint): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const e of fixture.store.readAll({ after, filter: { streamPrefix: prefix } })) out.push(e);
  return out;
}

/**
 * Tails until `count` events are visible. The no-skip horizon is the oldest open transaction on the whole server,
 * and other test files on this server hold transactions open on purpose, so visibility may lag by their length.
 */
async function tailUntil(prefix: string, after: bigint, count: number): Promise<RecordedEvent[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const events = await tail(prefix, after);
    if (events.length >= count || Date.now() > deadline) return events;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Starts an append in a transaction that stays open until the caller commits or rolls it back. */
async function holdAppend(streamId: string, eventId: string): Promise<pg.PoolClient> {
  const client = await fixture.pool.connect();
  await client.query('BEGIN');
  const { rows } = await client.query(
    `SELECT o_status FROM "${fixture.schema}".append_events($1, -1, $2::uuid[], $3::text[], $4::text[], $5::text[])`,
    [streamId, [eventId], ['Held'], ['{"held":true}'], ['{}']],
  );
  expect(rows[0].o_status).toBe('written');
  return client;
}

it('a tailing reader does not see a later commit while an earlier transaction is open, then sees both in order', async () => {
  const prefix = `${randomUUID()}/`;
  const first = await fixture.store.append(`${prefix}first`, [{ type: 'First', data: 1 }]);
  const seen = await tailUntil(prefix, 0n, 1);
  expect(seen.map((e) => e.type)).toEqual(['First']);
  const cursor = seen[0]!.position;

  const heldId = randomUUID();
  const held = await holdAppend(`${prefix}held`, heldId);
  try {
    // The later append commits first: with a plain sequence its position would be handed out after the held
    // one's, and a reader polling `position > last` would move past the held event before it committed.
    const later = await fixture.store.append(`${prefix}later`, [{ type: 'Later', data: 2 }]);
    expect(later.lastPosition! > first.lastPosition!).toBe(true);
    // The later event is committed and readable in its stream …
    expect(await fixture.store.streamVersion(`${prefix}later`)).toBe(1);
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

  const after = await tailUntil(prefix, cursor, 2);
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
    await fixture.store.append(`${prefix}later`, [{ type: 'Later', data: 1 }]);
    expect(await tail(prefix, 0n)).toEqual([]);
  } finally {
    await held.query('ROLLBACK');
    held.release();
  }
  const events = await tailUntil(prefix, 0n, 1);
  expect(events.map((e) => e.type)).toEqual(['Later']);
  expect(await fixture.store.streamVersion(`${prefix}held`)).toBe(0);
});

it('positions follow versions within a stream under concurrent appends from many connections', async () => {
  const id = `race-${randomUUID()}`;
  await Promise.all(
    Array.from({ length: 40 }, (_, i) => fixture.store.append(id, [{ type: 'Raced', data: i }])),
  );
  const events: RecordedEvent[] = [];
  for await (const e of fixture.store.readStream(id)) events.push(e);
  expect(events.map((e) => e.version)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  for (let i = 1; i < events.length; i++) expect(events[i]!.position > events[i - 1]!.position).toBe(true);
});
