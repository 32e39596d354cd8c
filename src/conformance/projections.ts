import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { EventStore, RecordedEvent } from '../index.js';
import {
  defineProjection,
  MemoryReadModelStore,
  memoryReadModel,
  type Projection,
  projectionStatus,
  type ReadModel,
  startProjection,
  subscriptionNameOf,
} from '../projections/index.js';
import { type ConformanceTarget, collect, sleep, useStore } from './support.js';

/** Generous: the suite runs on loaded machines, and every wait below is on a condition. */
const WAIT_MS = 90_000;
const LONG_TEST_MS = 180_000;

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(10);
  }
}

interface Row {
  items: number;
  shipped: boolean;
  version: number;
}
type Db = MemoryReadModelStore<Row>;

/**
 * An order-count projection over event types no other test uses (a projection reads the whole store's events of
 * its types). It is idempotent the way the docs say: a row keeps the version of the last event applied to it.
 */
function orders(options: { gate?: (generation: number) => Promise<void>; readModel?: ReadModel<Db> } = {}) {
  const tag = randomUUID().replaceAll('-', '').slice(0, 12);
  const types = { added: `ItemAdded_${tag}`, shipped: `Shipped_${tag}`, other: `Other_${tag}` };
  const handled: RecordedEvent[] = [];
  const apply = async (
    e: RecordedEvent,
    db: Db,
    target: { generation: number; name: string; projection: string },
    change: (row: Row) => Row,
  ) => {
    await options.gate?.(target.generation);
    handled.push(e);
    const rows = db.table(target);
    const row = rows.get(e.streamId) ?? { items: 0, shipped: false, version: 0 };
    if (e.version <= row.version) return;
    rows.set(e.streamId, { ...change(row), version: e.version });
  };
  const projection: Projection<Db> = defineProjection<Db>({
    name: `orders_${tag}`,
    readModel: options.readModel ?? memoryReadModel<Row>(),
    handlers: {
      [types.added]: (e, { db, target }) => apply(e, db, target, (r) => ({ ...r, items: r.items + 1 })),
      [types.shipped]: (e, { db, target }) => apply(e, db, target, (r) => ({ ...r, shipped: true })),
    },
  });
  return { projection, types, handled };
}

function view(db: Db, projection: Projection<Db>): Record<string, Omit<Row, 'version'>> {
  return Object.fromEntries(
    [...db.view(projection.name)].map(([k, { items, shipped }]) => [k, { items, shipped }]),
  );
}

async function place(store: EventStore, types: { added: string }, stream: string, n: number): Promise<void> {
  await store.append(
    stream,
    Array.from({ length: n }, () => ({ type: types.added, data: {} })),
  );
}

export function projectionTests(target: ConformanceTarget): void {
  describe('projections', () => {
    const h = useStore(target);

    it('projects the events of its types into its read model, and follows new ones', async () => {
      const { projection, types, handled } = orders();
      const a = `order-${randomUUID()}`;
      const b = `order-${randomUUID()}`;
      await place(h.store, types, a, 2);
      await h.store.append(b, [
        { type: types.added, data: {} },
        { type: types.other, data: {} },
      ]);
      const db = new MemoryReadModelStore<Row>();
      const running = await startProjection(h.store, projection, { db });
      await running.caughtUp;
      expect(view(db, projection)).toEqual({
        [a]: { items: 2, shipped: false },
        [b]: { items: 1, shipped: false },
      });
      await h.store.append(a, [{ type: types.shipped, data: {} }]);
      await until(() => db.view(projection.name).get(a)?.shipped === true, 'the live event');
      await running.stop();
      await running.done;
      expect(handled.map((e) => e.type).every((t) => t !== types.other)).toBe(true);
      expect(running.target).toMatchObject({ generation: 1, name: `${projection.name}_v1` });
      expect(running.delivery).toBe('at-least-once');
    });

    it('resumes after its checkpoint when started again', async () => {
      const { projection, types, handled } = orders();
      const a = `order-${randomUUID()}`;
      await place(h.store, types, a, 3);
      const db = new MemoryReadModelStore<Row>();
      const first = await startProjection(h.store, projection, { db });
      await first.caughtUp;
      await first.stop();
      await place(h.store, types, a, 2);
      const second = await startProjection(h.store, projection, { db });
      await second.caughtUp;
      await until(() => handled.length >= 5, 'the two new events');
      await second.stop();
      expect(handled.map((e) => e.version)).toEqual([1, 2, 3, 4, 5]);
      expect(view(db, projection)).toEqual({ [a]: { items: 5, shipped: false } });
    });

    it('rebuilds into a new generation while the old one keeps serving, then switches', {
      timeout: LONG_TEST_MS,
    }, async () => {
      let open!: () => void;
      const gate = new Promise<void>((resolve) => {
        open = resolve;
      });
      const { projection, types } = orders({
        gate: (generation) => (generation === 2 ? gate : Promise.resolve()),
      });
      const a = `order-${randomUUID()}`;
      await place(h.store, types, a, 3);
      const db = new MemoryReadModelStore<Row>();
      const running = await startProjection(h.store, projection, { db });
      await running.caughtUp;
      const rebuilt = running.rebuild();
      // The new generation is held at its first event: readers still see generation 1, which still follows.
      await until(() => db.generations().includes(`${projection.name}_v2`), 'the new generation');
      await place(h.store, types, a, 1);
      await until(() => db.view(projection.name).get(a)?.items === 4, 'the old generation to follow');
      expect(running.target.generation).toBe(1);
      open();
      await rebuilt;
      expect(running.target.generation).toBe(2);
      expect(view(db, projection)).toEqual({ [a]: { items: 4, shipped: false } });
      expect(db.generations()).toEqual([`${projection.name}_v2`]);
      expect(await h.store.checkpoints.load(subscriptionNameOf(projection.name, 1))).toBeUndefined();
      await place(h.store, types, a, 1);
      await until(() => db.view(projection.name).get(a)?.items === 5, 'the new generation to follow');
      await running.stop();
      await running.done;
    });

    it('reports its lag in events and in seconds behind the newest event', async () => {
      const { projection, types } = orders();
      const a = `order-${randomUUID()}`;
      const db = new MemoryReadModelStore<Row>();
      expect(await projectionStatus(h.store, projection, db)).toBeUndefined();
      await place(h.store, types, a, 2);
      const running = await startProjection(h.store, projection, { db });
      await running.caughtUp;
      const live = await running.status();
      const stored = await collect(h.store.readAll({ filter: { eventTypes: [types.added] } }));
      expect(live).toMatchObject({
        projection: projection.name,
        generation: 1,
        lagEvents: 0,
        lagSeconds: 0,
        position: stored.at(-1)!.position,
        head: stored.at(-1)!.position,
      });
      await running.stop();
      await place(h.store, types, a, 3);
      const behind = (await projectionStatus(h.store, projection, db))!;
      const all = await collect(h.store.readAll({ filter: { eventTypes: [types.added] } }));
      expect(behind.lagEvents).toBe(3);
      expect(behind.position).toBe(all[1]!.position);
      expect(behind.head).toBe(all[4]!.position);
      expect(behind.lagSeconds).toBe((all[4]!.createdAt.getTime() - all[1]!.createdAt.getTime()) / 1000);
    });

    it('handles each event in the store transaction with sameDatabase where the adapter can, else at least once', async () => {
      const transactions: unknown[] = [];
      const hooks = memoryReadModel<Row>();
      const db = new MemoryReadModelStore<Row>();
      const { projection, types } = orders({
        readModel: {
          ...hooks,
          inTransaction: (tx) => {
            transactions.push(tx);
            return db;
          },
        },
      });
      await place(h.store, types, `order-${randomUUID()}`, 2);
      const running = await startProjection(h.store, projection, { db, sameDatabase: true });
      await running.caughtUp;
      await running.stop();
      const capable = h.store.capabilities.transactionalSubscriptions === true;
      expect(running.delivery).toBe(capable ? 'exactly-once' : 'at-least-once');
      expect(transactions).toHaveLength(capable ? 2 : 0);
      expect(transactions.every((tx) => tx !== undefined)).toBe(true);
    });

    it('refuses a bad definition with INVALID_ARGUMENT', () => {
      const readModel = memoryReadModel<Row>();
      const bad: unknown[] = [
        null,
        { name: '', handlers: { A: () => {} }, readModel },
        { name: '1x', handlers: { A: () => {} }, readModel },
        { name: 'x'.repeat(101), handlers: { A: () => {} }, readModel },
        { name: 'ok', handlers: {}, readModel },
        { name: 'ok', handlers: { A: 'no' }, readModel },
        { name: 'ok', handlers: { A: () => {} }, readModel: { create: async () => {} } },
      ];
      for (const definition of bad) {
        expect(() => defineProjection(definition as Parameters<typeof defineProjection>[0])).toThrow(
          expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
        );
      }
    });
  });
}
