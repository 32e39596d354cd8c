import { randomUUID } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll } from 'vitest';
import { createMemoryEventStore } from '../../src/adapters/memory/index.js';
import { createPgliteEventStore } from '../../src/adapters/postgres/index.js';
import { createEventStore, type EventStore, type NewEvent, type RecordedEvent } from '../../src/index.js';
import { dynamodbUrl, tableName } from '../adapters/dynamodb/support.js';
import { serverUrl, uniqueSchema } from '../adapters/postgres/support.js';
import { startEsdbEmulator } from '../support/esdb-emulator/index.js';

export const KINDS = ['memory', 'pglite', 'postgres', 'dynamodb', 'esdb'] as const;
export type Kind = (typeof KINDS)[number];

export interface Opened {
  store: EventStore;
  /** Closes the store and what the test started for it (an emulator). */
  close(): Promise<void>;
}

/**
 * Fresh, empty stores of every kind, since a copy takes every stream of its source and verify compares whole
 * stores: memory, a schema of one PGlite shared by the file, a schema on the rig's PostgreSQL server, a table on
 * the rig's DynamoDB Local, and an EventStoreDB emulator of the test's own (the rig's is shared by other files).
 */
export function useFreshStores(): (kind: Kind) => Promise<Opened> {
  let pglite: PGlite | undefined;
  beforeAll(async () => {
    pglite = new PGlite();
    await pglite.waitReady;
  });
  afterAll(async () => {
    await pglite?.close();
  });
  return async (kind) => {
    switch (kind) {
      case 'memory': {
        const store = createMemoryEventStore();
        return { store, close: () => store.close() };
      }
      case 'pglite': {
        const store = await createPgliteEventStore(pglite!, { schema: uniqueSchema('copy') });
        return { store, close: () => store.close() };
      }
      case 'postgres': {
        const store = await createEventStore(serverUrl(uniqueSchema('copy'), 'postgresConformanceUrl'));
        return { store, close: () => store.close() };
      }
      case 'dynamodb': {
        const store = await createEventStore(dynamodbUrl(tableName('copy')));
        return { store, close: () => store.close() };
      }
      case 'esdb': {
        const emulator = await startEsdbEmulator();
        const store = await createEventStore(emulator.url);
        return {
          store,
          close: async () => {
            await store.close();
            await emulator.stop();
          },
        };
      }
    }
  };
}

function recorded(type: string, i: number, createdAt: string, metadata = {}): NewEvent {
  return {
    id: randomUUID(),
    type,
    data: { i, text: 'ü 🎉', list: [1, 0.5, null] },
    metadata,
    createdAt: new Date(createdAt),
  };
}

/**
 * Writes a small store of three interleaved streams, with metadata and recorded times of the past, in appends of
 * one and of several events; returns how many events it wrote.
 */
export async function writeSample(store: EventStore, prefix = ''): Promise<number> {
  const a = `${prefix}order-${randomUUID().slice(0, 8)}`;
  const b = `${prefix}cart-${randomUUID().slice(0, 8)}`;
  const c = `${prefix}user-${randomUUID().slice(0, 8)}`;
  const opts = { preserveCreatedAt: true } as const;
  await store.append(
    a,
    [recorded('OrderPlaced', 1, '2019-01-01T10:00:00.001Z', { correlationId: 'c1' })],
    opts,
  );
  await store.append(b, [recorded('CartOpened', 2, '2019-01-01T10:00:01.000Z')], opts);
  await store.append(
    a,
    [
      recorded('OrderPaid', 3, '2019-01-02T00:00:00.000Z'),
      recorded('OrderShipped', 4, '2019-01-03T00:00:00.500Z'),
    ],
    { ...opts, expectedVersion: 1 },
  );
  await store.append(c, [recorded('UserJoined', 5, '2020-02-29T23:59:59.999Z', { by: { id: 7 } })], opts);
  await store.append(b, [recorded('CartClosed', 6, '2020-03-01T00:00:00.000Z')], opts);
  await store.append(a, [{ type: 'OrderArchived', data: { i: 7 } }]);
  await store.append(
    c,
    [
      recorded('UserLeft', 8, '2021-01-01T00:00:00.000Z'),
      recorded('UserBack', 9, '2021-01-02T00:00:00.000Z'),
    ],
    opts,
  );
  return 9;
}

export async function readAll(store: EventStore): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const e of store.readAll()) out.push(e);
  return out;
}

/**
 * Waits until readAll returns `count` events: PostgreSQL's readAll holds back events behind transactions still
 * open on the server (other test files hold some on purpose), DynamoDB's behind commits still in flight.
 */
export async function untilReadAllHas(store: EventStore, count: number, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const n = (await readAll(store)).length;
    if (n === count) return;
    if (n > count) throw new Error(`readAll returned ${n} events, expected ${count}`);
    if (Date.now() > deadline)
      throw new Error(`readAll returned ${n} of ${count} events after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** An event without its position, which is the store's own. */
export function portable({ position: _, ...rest }: RecordedEvent): Omit<RecordedEvent, 'position'> {
  return rest;
}

/** What {@link writeLifecycleSample} wrote: its streams and the events readAll shows of them. */
export interface LifecycleSample {
  /** Truncated before version 3 of 4. */
  truncated: string;
  /** `maxCount: 2` over 3 events, with custom keys. */
  retained: string;
  /** Two events, soft-deleted, then one more (version 3). */
  recreated: string;
  /** One event, a long `maxAge` that hides nothing, and custom keys. */
  described: string;
  /** The events readAll shows of these streams. */
  events: number;
}

/**
 * Writes streams whose readable history starts past version 1 (a truncation, retention by count, a soft delete and
 * a new append) and streams with metadata: what a copy must carry besides plain streams. Needs the lifecycle.
 */
export async function writeLifecycleSample(store: EventStore, prefix = ''): Promise<LifecycleSample> {
  const tag = randomUUID().slice(0, 8);
  const s: LifecycleSample = {
    truncated: `${prefix}ledger-${tag}`,
    retained: `${prefix}sensor-${tag}`,
    recreated: `${prefix}basket-${tag}`,
    described: `${prefix}profile-${tag}`,
    events: 6,
  };
  const opts = { preserveCreatedAt: true } as const;
  await store.append(
    s.truncated,
    [1, 2, 3, 4].map((i) => recorded('Posted', i, `2019-05-0${i}T00:00:00.000Z`)),
    opts,
  );
  await store.truncateStream(s.truncated, { before: 3 });
  await store.append(
    s.retained,
    [1, 2, 3].map((i) => recorded('Measured', i, `2020-01-0${i}T00:00:00.000Z`)),
    opts,
  );
  await store.setStreamMetadata(s.retained, { maxCount: 2, custom: { unit: 'celsius', owner: 'ops' } });
  await store.append(s.recreated, [recorded('Added', 1, '2021-01-01T00:00:00.000Z')], opts);
  await store.append(s.recreated, [recorded('Added', 2, '2021-01-02T00:00:00.000Z')], opts);
  await store.deleteStream(s.recreated);
  await store.append(s.recreated, [recorded('Added', 3, '2021-01-03T00:00:00.000Z')], {
    ...opts,
    expectedVersion: 'no_stream',
  });
  await writeDescribed(store, s.described);
  return s;
}

/** One event in a stream with metadata that hides nothing: a long `maxAge` and custom keys. */
export async function writeDescribed(store: EventStore, id: string): Promise<void> {
  await store.append(id, [recorded('Named', 1, '2022-01-01T00:00:00.000Z')], { preserveCreatedAt: true });
  // About 100 years: hides none of the sample's events on any backend's clock.
  await store.setStreamMetadata(id, { maxAge: 3_153_600_000, custom: { tier: 'gold' } });
}
