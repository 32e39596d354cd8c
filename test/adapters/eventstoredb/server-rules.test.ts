import { randomUUID } from 'node:crypto';
import { EventStoreDBClient } from '@eventstore/db-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventStoreDBEventStore } from '../../../src/adapters/eventstoredb/index.js';
import { collect } from '../../../src/conformance/support.js';
import { createEventStore, type EventStore, type NewEvent } from '../../../src/index.js';
import { type EsdbEmulator, startEsdbEmulator } from '../../support/esdb-emulator/index.js';

/**
 * The adapter where the server's own rules matter (size, soft delete, stream metadata, the explicit-transaction
 * layout), against emulators that follow the server source (see test/esdb-emulator).
 */
let emulator: EsdbEmulator;
let client: EventStoreDBClient;
let store: EventStore;

beforeAll(async () => {
  emulator = await startEsdbEmulator();
  client = EventStoreDBClient.connectionString(`${emulator.url}&defaultDeadline=20000`);
  store = createEventStoreDBEventStore(client);
});

afterAll(async () => {
  await store.close();
  await client.dispose();
  await emulator.stop();
});

const events = (n: number): NewEvent[] =>
  Array.from({ length: n }, (_, i) => ({ type: 'Happened', data: { i }, id: randomUUID() }));

describe('eventstoredb adapter: the size rule', () => {
  it('declares half of each server limit, which the server never refuses whatever the type', async () => {
    expect(store.capabilities).toMatchObject({ maxAppendBytes: 524_288, maxEventBytes: 524_288 });
    const v25 = createEventStoreDBEventStore(client, {
      maxAppendSize: 256 * 2 ** 20,
      maxAppendEventSize: 16 * 2 ** 20,
    });
    expect(v25.capabilities).toMatchObject({ maxAppendBytes: 128 * 2 ** 20, maxEventBytes: 8 * 2 ** 20 });
    // The worst case for the server's count (data + metadata + 2 × type): a long type, data `0`, metadata `{}`.
    const limit = store.capabilities.maxAppendBytes;
    const worst = { type: 'T'.repeat(limit - 3), data: 0 };
    await expect(store.append(`s-${randomUUID()}`, [worst])).resolves.toMatchObject({
      nextExpectedVersion: 1,
    });
    await expect(
      store.append(`s-${randomUUID()}`, [{ ...worst, type: `${worst.type}T` }]),
    ).rejects.toMatchObject({
      code: 'EVENT_TOO_LARGE',
    });
  });

  it('refuses, before sending, a batch the server would count past MaxAppendSize', async () => {
    // 200 events of 5,139 contract bytes (1,027,890 in all) are 1,051,890 bytes by the server's count.
    const batch = Array.from({ length: 200 }, () => ({ type: 'x'.repeat(120), data: 'y'.repeat(5_015) }));
    const id = `s-${randomUUID()}`;
    await expect(store.append(id, batch)).rejects.toMatchObject({ code: 'APPEND_TOO_LARGE' });
    expect(await store.streamVersion(id)).toBe(0);
  });
});

describe('eventstoredb adapter: soft delete and stream metadata', () => {
  it("writes a NO_STREAM retry of a soft-deleted stream's events again, after them (the delete forgot them)", async () => {
    const id = `s-${randomUUID()}`;
    const batch = events(2);
    await store.append(id, batch, { expectedVersion: 'no_stream' });
    await client.deleteStream(id);
    // The server alone would recognise the retry (its index still has the ids) and answer without a position.
    const again = await store.append(id, batch, { expectedVersion: 'no_stream' });
    expect(again.nextExpectedVersion).toBe(4);
    expect((await collect(store.readStream(id))).map((e) => [e.version, e.id])).toEqual([
      [3, batch[0]!.id],
      [4, batch[1]!.id],
    ]);
  });

  it("('server' mode) writes an 'any' retry of deleted events again, though the server's cache knows their ids", async () => {
    const s = createEventStoreDBEventStore(client, { idempotency: 'server' });
    const id = `s-${randomUUID()}`;
    const batch = events(2);
    await s.append(id, batch);
    await s.deleteStream(id);
    expect((await s.append(id, batch)).nextExpectedVersion).toBe(4);
    expect((await collect(s.readStream(id))).map((e) => e.version)).toEqual([3, 4]);
  });

  it("'any' re-creates a stream another client soft-deleted, continuing its revisions", async () => {
    const id = `s-${randomUUID()}`;
    await store.append(id, events(2));
    await client.deleteStream(id);
    // The version the server's index keeps, not what a read shows.
    expect(await store.streamVersion(id)).toBe(2);
    expect((await store.append(id, events(1))).nextExpectedVersion).toBe(3);
    expect((await collect(store.readStream(id))).map((e) => e.version)).toEqual([3]);
  });

  it('appends after events that $maxAge hides from reads, at the revision the server reports', async () => {
    const id = `s-${randomUUID()}`;
    await store.append(id, events(2));
    const other = createEventStoreDBEventStore(client);
    await client.setStreamMetadata(id, { maxAge: 1 });
    await new Promise((r) => setTimeout(r, 1_100));
    expect(await other.streamVersion(id)).toBe(2);
    expect(await collect(other.readStream(id))).toEqual([]);
    expect((await other.append(id, events(1))).nextExpectedVersion).toBe(3);
  });

  for (const idempotency of ['adapter', 'server'] as const) {
    it(`(${idempotency} mode) answers a retry whose events $maxCount hides with the original result`, async () => {
      const s = createEventStoreDBEventStore(client, { idempotency });
      const id = `s-${randomUUID()}`;
      const batch = events(3);
      const original = await s.append(id, batch, { expectedVersion: 'no_stream' });
      await client.setStreamMetadata(id, { maxCount: 1 });
      // The last event only is readable; the others were just written and are hidden at once.
      const more = await s.append(id, events(2), { expectedVersion: 3 });
      expect(more.nextExpectedVersion).toBe(5);
      expect(await s.append(id, batch, { expectedVersion: 'no_stream' })).toEqual(original);
      const read = await collect(s.readStream(id));
      expect(read.map((e) => e.version)).toEqual([5]);
      expect(read[0]!.position).toBe(more.lastPosition);
    });
  }

  it('(server mode) checks a multi-event retry by revision even when $maxCount hides part of it', async () => {
    const s = createEventStoreDBEventStore(client, { idempotency: 'server' });
    const id = `s-${randomUUID()}`;
    await client.setStreamMetadata(id, { maxCount: 2 });
    const batch = events(3);
    const original = await s.append(id, batch);
    expect(original.nextExpectedVersion).toBe(3);
    expect(await s.append(id, batch)).toEqual(original);
    await expect(s.append(id, [batch[0]!, batch[2]!])).rejects.toMatchObject({
      code: 'WRONG_EXPECTED_VERSION',
    });
    expect(await s.streamVersion(id)).toBe(3);
  });
});

describe("eventstoredb adapter: 'any' decided by the adapter", () => {
  it('recognises a retry after another writer appended, and races without losing or doubling events', async () => {
    const a = createEventStoreDBEventStore(client);
    const b = createEventStoreDBEventStore(client);
    const id = `s-${randomUUID()}`;
    const batch = events(2);
    const original = await a.append(id, batch);
    await b.append(id, events(3));
    // a's head is stale (version 2): it reads what b wrote, finds no retry there, and its own batch in its head.
    expect(await a.append(id, batch)).toEqual(original);
    expect(await b.append(id, batch)).toEqual(original);
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, k) =>
        (k % 2 ? a : b).append(id, events(1), { expectedVersion: 'stream_exists' }),
      ),
    );
    expect(results.map((r) => r.nextExpectedVersion).sort((x, y) => x - y)).toEqual([6, 7, 8, 9, 10, 11]);
    expect((await collect(a.readStream(id))).map((e) => e.version)).toEqual(
      Array.from({ length: 11 }, (_, k) => k + 1),
    );
  });

  it('declares the window it reads, and refuses a window it would not read', async () => {
    expect(store.capabilities.idempotencyWindow).toBe(100);
    expect(
      createEventStoreDBEventStore(client, { idempotencyWindow: 3 }).capabilities.idempotencyWindow,
    ).toBe(3);
    expect(() => createEventStoreDBEventStore(client, { idempotencyWindow: 10_001 })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    // A retry just inside a window of 3 is recognised; just outside it is a new append.
    const small = createEventStoreDBEventStore(client, { idempotencyWindow: 3 });
    const id = `s-${randomUUID()}`;
    const batch = events(1);
    await small.append(id, batch);
    await small.append(id, events(2));
    expect(
      (await createEventStoreDBEventStore(client, { idempotencyWindow: 3 }).append(id, batch))
        .nextExpectedVersion,
    ).toBe(1);
    await small.append(id, events(1));
    expect(
      (await createEventStoreDBEventStore(client, { idempotencyWindow: 3 }).append(id, batch))
        .nextExpectedVersion,
    ).toBe(5);
  });
});

describe('eventstoredb adapter: the explicit-transaction layout', () => {
  it('gives stream reads the $all positions the server leaves out of them, and retries the same way', async () => {
    const node = await startEsdbEmulator({ layout: 'explicit-commit' });
    const s = await createEventStore(`${node.url}&defaultDeadline=20000`);
    try {
      const id = `s-${randomUUID()}`;
      const batch = events(3);
      const original = await s.append(id, batch);
      await s.append(`other-${randomUUID()}`, events(2));
      const byStream = await collect(s.readStream(id));
      const byAll = (await collect(s.readAll())).filter((e) => e.streamId === id);
      expect(byStream.map((e) => e.position)).toEqual(byAll.map((e) => e.position));
      expect(byStream.at(-1)!.position).toBe(original.lastPosition);
      const fresh = await createEventStore(node.url);
      expect(await fresh.append(id, batch)).toEqual(original);
      await fresh.close();
    } finally {
      await s.close();
      await node.stop();
    }
  });
});
