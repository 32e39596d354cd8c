import { randomUUID } from 'node:crypto';
import { EventStoreDBClient, jsonEvent } from '@eventstore/db-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GAP_EVENT_TYPE } from '../../../src/adapters/eventstoredb/import-start.js';
import { createEventStoreDBEventStore } from '../../../src/adapters/eventstoredb/index.js';
import { collect } from '../../../src/conformance/support.js';
import type { EventStore, NewEvent } from '../../../src/index.js';
import { type EsdbEmulator, startEsdbEmulator } from '../../support/esdb-emulator/index.js';

/**
 * The adapter's lifecycle where it looks behind the contract: readAll over pages of system events (which metadata
 * writes produce), and erasure as far as the emulator models the server's scavenge. Each test has its own node.
 */
let emulator: EsdbEmulator;
let client: EventStoreDBClient;
let store: EventStore;

beforeEach(async () => {
  emulator = await startEsdbEmulator();
  client = EventStoreDBClient.connectionString(`${emulator.url}&defaultDeadline=20000`);
  store = createEventStoreDBEventStore(client, { timeoutMs: 20_000 });
});

afterEach(async () => {
  await store.close();
  await client.dispose();
  await emulator.stop();
});

const events = (n: number, marker = 'x'): NewEvent[] =>
  Array.from({ length: n }, (_, i) => ({ type: 'Happened', data: { i, marker }, id: randomUUID() }));

/** Whether any record of the emulator's log (every stream, $all, system streams) still holds `marker`. */
function logHolds(marker: string): boolean {
  return emulator.log.all.some((e) => Buffer.from(e.data).toString('utf8').includes(marker));
}

describe('eventstoredb adapter: readAll over system events', () => {
  it('readAll({ maxCount: 1 }) on a node with only its system events ends with nothing', async () => {
    expect(emulator.log.all.length).toBeGreaterThan(1);
    expect(await collect(store.readAll({ maxCount: 1 }))).toEqual([]);
  });

  it('moves past a page of only system events ($metadata writes) instead of reading it again', async () => {
    const before = await store.append(`a-${randomUUID()}`, events(1));
    for (let i = 0; i < 5; i++) await store.setStreamMetadata(`m-${randomUUID()}`, { custom: { i } });
    await store.append(`b-${randomUUID()}`, events(1, 'after'));
    const got = await collect(store.readAll({ after: before.lastPosition!, maxCount: 1 }));
    expect(got.map((e) => (e.data as { marker: string }).marker)).toEqual(['after']);
    // From the start, one at a time: every page of one wanted event holds system events only at first.
    const all = await collect(store.readAll({ maxCount: 2 }));
    expect(all).toHaveLength(2);
  });
});

describe('eventstoredb adapter: erasure', () => {
  it('deleted, truncated and expired events: unreadable at once, gone from the log after a scavenge', async () => {
    const marker = () => `m-${randomUUID()}`;
    const soft = { id: `s-${randomUUID()}`, marker: marker() };
    const hard = { id: `h-${randomUUID()}`, marker: marker() };
    const cut = { id: `t-${randomUUID()}`, marker: marker() };
    const aged = { id: `r-${randomUUID()}`, marker: marker() };
    for (const s of [soft, hard, cut, aged]) await store.append(s.id, events(3, s.marker));
    const keep = await store.append(cut.id, events(1, 'kept'));
    await store.deleteStream(soft.id);
    await store.deleteStream(hard.id, { hard: true });
    await store.truncateStream(cut.id, { before: 4 });
    await store.setStreamMetadata(aged.id, { maxCount: 1 });
    await store.enforceRetention();

    const markers = [soft, hard, cut].map((s) => s.marker);
    const visible = (await collect(store.readAll())).map((e) => (e.data as { marker: string }).marker);
    expect(visible.filter((m) => markers.includes(m))).toEqual([]);
    expect(visible.filter((m) => m === aged.marker)).toHaveLength(1);
    expect(await collect(store.readStream(soft.id))).toEqual([]);
    await expect(collect(store.readStream(hard.id))).rejects.toMatchObject({ code: 'STREAM_DELETED' });
    expect((await collect(store.readStream(cut.id))).map((e) => e.position)).toEqual([keep.lastPosition]);
    // The server keeps the data in its log until a scavenge: $all still has it, behind the adapter's filter.
    for (const m of [...markers, aged.marker]) expect(logHolds(m)).toBe(true);

    emulator.scavenge();
    for (const m of markers) expect(logHolds(m)).toBe(false);
    expect(emulator.log.all.filter((e) => e.streamId === aged.id)).toHaveLength(1);
    expect(logHolds('kept')).toBe(true);
    const after = (await collect(store.readAll())).map((e) => (e.data as { marker: string }).marker);
    expect(after.filter((m) => markers.includes(m))).toEqual([]);
    // The raw client reading $all finds none of it either.
    for await (const e of client.readAll()) {
      const text = JSON.stringify(e.event?.data ?? null);
      for (const m of markers) expect(text.includes(m)).toBe(false);
    }
  });
});

describe('eventstoredb adapter: an import past version 1', () => {
  it('fills the versions below firstVersion with placeholders in batches, hidden by $tb, and an interrupted one resumes', async () => {
    const id = `i-${randomUUID()}`;
    const createdAt = new Date('2019-01-01T00:00:00.000Z');
    const batch = [{ id: randomUUID(), type: 'Imported', data: { n: 1 }, createdAt }];
    // An import interrupted after $tb and the first placeholders: what startImport leaves when the process dies.
    await client.setStreamMetadata(id, { truncateBefore: 2_499 });
    await client.appendToStream(
      id,
      Array.from({ length: 10 }, () => jsonEvent({ type: GAP_EVENT_TYPE, data: {} })),
    );
    expect(await store.getStreamMetadata(id)).toMatchObject({ metadata: { truncateBefore: 2_500 } });
    const r = await store.append(id, batch, { firstVersion: 2_500, preserveCreatedAt: true });
    expect(r.nextExpectedVersion).toBe(2_500);
    expect(await store.streamVersion(id)).toBe(2_500);
    expect((await collect(store.readStream(id))).map((e) => [e.version, e.id])).toEqual([
      [2_500, batch[0]!.id],
    ]);
    const all = (await collect(store.readAll())).filter((e) => e.streamId === id);
    expect(all.map((e) => e.version)).toEqual([2_500]);
    // Behind the contract: the server holds 2,499 placeholders below $tb.
    const gaps = emulator.log.all.filter((e) => e.streamId === id && e.type === GAP_EVENT_TYPE);
    expect(gaps).toHaveLength(2_499);
  });
});
