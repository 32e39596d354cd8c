import { randomUUID } from 'node:crypto';
import { EventStoreDBClient } from '@eventstore/db-client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createEventStoreDBEventStore } from '../../../src/adapters/eventstoredb/index.js';
import { collect } from '../../../src/conformance/support.js';
import type { EventStore } from '../../../src/index.js';
import { type EsdbEmulator, startEsdbEmulator } from '../../support/esdb-emulator/index.js';

// $all holds system events the adapter skips: the seeds of a fresh node, and the snapshot streams ($snapshot-<id>
// and their metadata). An unfiltered readAll with a maxCount must read past pages of nothing else.
let emulator: EsdbEmulator;
let client: EventStoreDBClient;
let store: EventStore;

beforeAll(async () => {
  emulator = await startEsdbEmulator();
  client = EventStoreDBClient.connectionString(emulator.url);
  // A deadline well inside the test's: a read that loops ends as TIMEOUT rather than hanging the file.
  store = createEventStoreDBEventStore(client, { timeoutMs: 20_000 });
});

afterAll(async () => {
  await store.close();
  await client.dispose();
  await emulator.stop();
});

it('answers readAll({ maxCount: 1 }) on a fresh store, whose $all holds only system events', async () => {
  expect(await collect(store.readAll({ maxCount: 1 }))).toEqual([]);
  expect(await collect(store.readAll({ maxCount: 2 }))).toEqual([]);
});

it('reads past pages of snapshot events to the events after them', async () => {
  const first = await store.append(`s-${randomUUID()}`, [{ type: 'Before', data: 1 }]);
  for (let i = 0; i < 6; i++) {
    await store.snapshots.save(`s-${randomUUID()}`, { state: i, version: 1, schemaVersion: 1 });
  }
  const after = first.lastPosition!;
  expect(await collect(store.readAll({ after, maxCount: 1 }))).toEqual([]);
  const id = `s-${randomUUID()}`;
  await store.append(id, [{ type: 'After', data: 2 }]);
  const read = await collect(store.readAll({ after, maxCount: 1 }));
  expect(read.map((e) => [e.streamId, e.type])).toEqual([[id, 'After']]);
  const all = await collect(store.readAll({ maxCount: 10 }));
  expect(all.map((e) => e.type)).toEqual(['Before', 'After']);
});

it('keeps a stream snapshot in $snapshot-<id>, whose $maxCount of 1 leaves only the newest readable', async () => {
  const id = `s-${randomUUID()}`;
  for (const version of [1, 2, 3]) {
    await store.snapshots.save(id, { state: { version }, version, schemaVersion: 1 });
  }
  const metadata = await client.getStreamMetadata(`$snapshot-${id}`);
  expect(metadata.metadata).toMatchObject({ maxCount: 1 });
  const raw = await collect(client.readStream(`$snapshot-${id}`));
  expect(raw.map((e) => [e.event?.type, e.event?.data])).toEqual([
    ['Snapshot', { version: 3, schemaVersion: 1, state: { version: 3 } }],
  ]);
  expect(await store.snapshots.load(id)).toEqual({ state: { version: 3 }, version: 3, schemaVersion: 1 });
});
