import { randomUUID } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, describe, expect, it } from 'vitest';
import { createPgliteEventStore, createPostgresEventStore } from '../../src/adapters/postgres/index.js';
import { collect } from '../../src/conformance/support.js';
import type { EventStore } from '../../src/index.js';
import {
  defineProjection,
  type SqlClient,
  sqlClient,
  sqlReadModel,
  startProjection,
  subscriptionNameOf,
} from '../../src/projections/index.js';
import { testPool, uniqueSchema } from '../adapters/postgres/support.js';

/**
 * Exactly-once on PostgreSQL: with the read model in the event store's database, a handler's writes and the
 * checkpoint commit together. The handler below increments (not idempotent on purpose), so an event applied twice
 * would show; and it fails once, after writing, to show that its write is rolled back with the checkpoint.
 */
function counter(schema: string, failOnce: { at: number; done: boolean }) {
  const readModel = sqlReadModel({ schema, columns: 'id text PRIMARY KEY, n integer NOT NULL' });
  const projection = defineProjection<SqlClient>({
    name: 'counter',
    readModel,
    handlers: {
      Counted: async (e, { db, target, delivery }) => {
        expect(delivery).toBe('exactly-once');
        await db.query(
          `INSERT INTO ${readModel.table(target)} (id, n) VALUES ('all', 1)
           ON CONFLICT (id) DO UPDATE SET n = ${readModel.table(target)}.n + 1`,
        );
        if (e.version === failOnce.at && !failOnce.done) {
          failOnce.done = true;
          throw new Error('crash after writing');
        }
      },
    },
  });
  return { projection, readModel };
}

async function check(store: EventStore, db: SqlClient): Promise<void> {
  const schema = uniqueSchema('counter');
  const failOnce = { at: 3, done: false };
  const { projection, readModel } = counter(schema, failOnce);
  const stream = `counted-${randomUUID()}`;
  await store.append(
    stream,
    Array.from({ length: 5 }, () => ({ type: 'Counted', data: {} })),
  );
  const count = async () =>
    (await db.query<{ n: number }>(`SELECT n FROM ${readModel.view('counter')} WHERE id = 'all'`))[0]?.n;

  const first = await startProjection(store, projection, { db, sameDatabase: true });
  await expect(first.done).rejects.toThrow('crash after writing');
  // Events 1 and 2 committed with their checkpoint; event 3's write was rolled back with it.
  expect(await count()).toBe(2);
  const events = await collect(store.readStream(stream));
  expect(await store.checkpoints.load(subscriptionNameOf('counter', 1))).toBe(events[1]!.position);

  const second = await startProjection(store, projection, { db, sameDatabase: true });
  await second.caughtUp;
  await second.stop();
  expect(await count()).toBe(5);
}

describe('projections: exactly-once on PostgreSQL', () => {
  it('PGlite: the read model and the checkpoint commit together', { timeout: 120_000 }, async () => {
    const instance = new PGlite();
    const store = await createPgliteEventStore(instance);
    try {
      await check(store, sqlClient(instance));
    } finally {
      await store.close();
      await instance.close();
    }
  });

  const pool = testPool(6);
  afterAll(() => pool.end());
  it('a server: the read model and the checkpoint commit together', { timeout: 120_000 }, async () => {
    const store = await createPostgresEventStore(pool, { schema: uniqueSchema('exactly_once') });
    try {
      await check(store, sqlClient(pool));
    } finally {
      await store.close();
    }
  });
});
