import { randomUUID } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPgliteEventStore,
  createPostgresEventStore,
  type PostgresEventStore,
} from '../../../src/adapters/postgres/index.js';
import type { RecordedEvent } from '../../../src/index.js';
import { testPool, uniqueSchema, untilReadAllReaches } from './support.js';

async function collect(it: AsyncIterable<RecordedEvent>): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/**
 * Pages of three rows, so that every read crosses page boundaries and runs on the prefetched pages; the
 * conformance suite reads with the default page size.
 */
describe.each([
  ['real server', 'server'],
  ['PGlite', 'pglite'],
] as const)('keyset paging with prefetch (%s)', (_name, kind) => {
  let store: PostgresEventStore;
  let close: () => Promise<void>;
  let open: () => Promise<PostgresEventStore>;
  /** Waits until readAll can return `position` (on PGlite, one connection: at once). */
  let readable: (position: bigint) => Promise<void>;

  beforeAll(async () => {
    if (kind === 'server') {
      const pool = testPool(4);
      const schema = uniqueSchema('paging');
      open = () => createPostgresEventStore(pool, { schema, pageSize: 3 });
      store = await open();
      readable = (position) => untilReadAllReaches(pool, position);
      close = async () => {
        await store.close();
        await pool.end();
      };
    } else {
      const db = new PGlite();
      open = () => createPgliteEventStore(db, { pageSize: 3 });
      store = await open();
      readable = async () => {};
      close = async () => {
        await store.close();
        await db.close();
      };
    }
  });

  afterAll(() => close());

  it('reads a stream forwards and backwards across pages, from any version, with any maxCount', async () => {
    const id = `paged-${randomUUID()}`;
    await store.append(
      id,
      range(1, 10).map((i) => ({ type: 'Paged', data: i })),
    );
    const versions = async (options: Parameters<PostgresEventStore['readStream']>[1]) =>
      (await collect(store.readStream(id, options))).map((e) => e.version);
    expect(await versions(undefined)).toEqual(range(1, 10));
    expect(await versions({ fromVersion: 4 })).toEqual(range(4, 10));
    expect(await versions({ fromVersion: 2, maxCount: 6 })).toEqual(range(2, 7));
    expect(await versions({ maxCount: 3 })).toEqual([1, 2, 3]);
    expect(await versions({ direction: 'backwards' })).toEqual(range(1, 10).reverse());
    expect(await versions({ direction: 'backwards', fromVersion: 7, maxCount: 4 })).toEqual([7, 6, 5, 4]);
    expect(await versions({ direction: 'backwards', fromVersion: 3 })).toEqual([3, 2, 1]);
    expect(await versions({ fromVersion: 11 })).toEqual([]);
  });

  it('reads all events across pages, after any position, with any maxCount and filter', async () => {
    const prefix = `all-${randomUUID().slice(0, 8)}-`;
    let last = 0n;
    for (let i = 0; i < 4; i++) {
      const written = await store.append(`${prefix}${i % 2}`, [
        { type: 'Even', data: i },
        { type: 'Odd', data: i },
      ]);
      last = written.lastPosition!;
    }
    await readable(last);
    const all = await collect(store.readAll({ filter: { streamPrefix: prefix } }));
    expect(all).toHaveLength(8);
    for (let i = 1; i < all.length; i++) expect(all[i]!.position > all[i - 1]!.position).toBe(true);
    const tail = await collect(store.readAll({ after: all[2]!.position, filter: { streamPrefix: prefix } }));
    expect(tail.map((e) => e.id)).toEqual(all.slice(3).map((e) => e.id));
    const some = await collect(
      store.readAll({ after: all[0]!.position, maxCount: 4, filter: { streamPrefix: prefix } }),
    );
    expect(some.map((e) => e.id)).toEqual(all.slice(1, 5).map((e) => e.id));
    const odd = await collect(store.readAll({ filter: { streamPrefix: prefix, eventTypes: ['Odd'] } }));
    expect(odd.map((e) => e.id)).toEqual(all.filter((e) => e.type === 'Odd').map((e) => e.id));
  });

  it('lets a reader stop early, and stays usable', async () => {
    const id = `early-${randomUUID()}`;
    await store.append(
      id,
      range(1, 9).map((i) => ({ type: 'Paged', data: i })),
    );
    for await (const e of store.readStream(id)) {
      expect(e.version).toBe(1);
      break;
    }
    expect((await collect(store.readStream(id))).map((e) => e.version)).toEqual(range(1, 9));
  });

  it('fails a read in progress with STORE_CLOSED when the store is closed, leaving nothing unhandled', async () => {
    const id = `closing-${randomUUID()}`;
    await store.append(
      id,
      range(1, 9).map((i) => ({ type: 'Paged', data: i })),
    );
    const other = await open();
    const read = other.readStream(id)[Symbol.asyncIterator]();
    expect((await read.next()).value).toMatchObject({ version: 1 });
    // The second page is in flight; closing does not wait for it.
    await other.close();
    await expect(read.next()).rejects.toMatchObject({ code: 'STORE_CLOSED' });
  });
});
