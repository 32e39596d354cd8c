import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type Decider, type EventStore, eventIdFor, handleCommand, type SnapshotOptions } from '../index.js';
import { needsSnapshots } from './snapshots.js';
import { type ConformanceTarget, readStream, skipUnlessCapable, streamId, useStore } from './support.js';

type Added = { type: 'Added'; data: { n: number } };

/** A counter whose state also counts the events folded, so a test sees which ones were read. */
interface Tally {
  total: number;
  folded: number;
}

const tally: Decider<Tally, { add: number }, Added> = {
  initialState: () => ({ total: 0, folded: 0 }),
  evolve: (s, e) => ({ total: s.total + e.data.n, folded: s.folded + 1 }),
  decide: (c) => [{ type: 'Added', data: { n: c.add } }],
};

const v1: SnapshotOptions<Tally> = { schemaVersion: 1, every: 3 };

/** The same store with a `snapshots.save` that always fails: the store itself, its other members untouched. */
function failingSaves(store: EventStore): EventStore {
  const snapshots = {
    load: (id: string) => store.snapshots.load(id),
    save: () => Promise.reject(new Error('snapshot storage is down')),
  };
  return new Proxy(store, {
    get(target, key) {
      if (key === 'snapshots') return snapshots;
      const value = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

export function commandSnapshotTests(target: ConformanceTarget): void {
  describe('command handling with snapshots', () => {
    const h = useStore(target);

    async function add(id: string, n: number, options: SnapshotOptions<Tally> = v1, commandId?: string) {
      return handleCommand(h.store, id, { add: n }, tally, {
        snapshots: options,
        ...(commandId === undefined ? {} : { commandId }),
      });
    }

    it('takes a snapshot once `every` events lie beyond the last one', async (ctx) => {
      needsSnapshots(ctx, h.store);
      const id = streamId('tally');
      await add(id, 1);
      await add(id, 1);
      expect(await h.store.snapshots.load(id)).toBeNull();
      await add(id, 1);
      expect(await h.store.snapshots.load(id)).toEqual({
        state: { total: 3, folded: 3 },
        version: 3,
        schemaVersion: 1,
      });
      await add(id, 1);
      await add(id, 1);
      expect((await h.store.snapshots.load(id))?.version).toBe(3);
      await add(id, 1);
      expect((await h.store.snapshots.load(id))?.version).toBe(6);
    });

    it('loads the snapshot, then only the events after it', async (ctx) => {
      needsSnapshots(ctx, h.store);
      const id = streamId('tally');
      await h.store.append(
        id,
        [1, 2, 3, 4].map((n) => ({ type: 'Added', data: { n } })),
      );
      // A snapshot the fold would never produce, so the result shows it was used: folded counts only 4.
      await h.store.snapshots.save(id, { state: { total: 100, folded: 0 }, version: 3, schemaVersion: 1 });
      const result = await add(id, 5, { schemaVersion: 1, every: 100 });
      expect(result).toMatchObject({ state: { total: 109, folded: 2 }, nextExpectedVersion: 5 });
    });

    it('ignores a snapshot of another schema version and reads the whole stream', async (ctx) => {
      needsSnapshots(ctx, h.store);
      const id = streamId('tally');
      await h.store.append(
        id,
        [1, 2, 3].map((n) => ({ type: 'Added', data: { n } })),
      );
      await h.store.snapshots.save(id, { state: { shape: 'old' }, version: 3, schemaVersion: 1 });
      const result = await add(id, 4, { schemaVersion: 2, every: 2 });
      expect(result).toMatchObject({ state: { total: 10, folded: 4 }, nextExpectedVersion: 4 });
      // The whole stream lies beyond no snapshot of this schema: a new one replaces the old.
      expect(await h.store.snapshots.load(id)).toEqual({
        state: { total: 10, folded: 4 },
        version: 4,
        schemaVersion: 2,
      });
    });

    it('ignores a snapshot ahead of the stream and reads the whole stream', async (ctx) => {
      needsSnapshots(ctx, h.store);
      const id = streamId('tally');
      await h.store.append(
        id,
        [1, 2].map((n) => ({ type: 'Added', data: { n } })),
      );
      await h.store.snapshots.save(id, { state: { total: 1000, folded: 0 }, version: 50, schemaVersion: 1 });
      const result = await add(id, 3, { schemaVersion: 1, every: 100 });
      expect(result).toMatchObject({ state: { total: 6, folded: 3 }, nextExpectedVersion: 3 });
      // On a stream with no events at all, too.
      const empty = streamId('tally');
      await h.store.snapshots.save(empty, {
        state: { total: 1000, folded: 0 },
        version: 1,
        schemaVersion: 1,
      });
      expect(await add(empty, 1, { schemaVersion: 1, every: 100 })).toMatchObject({
        state: { total: 1, folded: 1 },
        nextExpectedVersion: 1,
      });
    });

    it('succeeds when saving the snapshot fails, and reports the failure to onError', async (ctx) => {
      needsSnapshots(ctx, h.store);
      const id = streamId('tally');
      const failures: Array<[unknown, string]> = [];
      const options: SnapshotOptions<Tally> = {
        schemaVersion: 1,
        every: 1,
        onError: (err, stream) => {
          failures.push([err, stream]);
        },
      };
      const store = failingSaves(h.store);
      const result = await handleCommand(store, id, { add: 2 }, tally, { snapshots: options });
      expect(result).toMatchObject({ state: { total: 2, folded: 1 }, nextExpectedVersion: 1 });
      expect(failures).toEqual([[expect.objectContaining({ message: 'snapshot storage is down' }), id]]);
      const throwing = {
        ...options,
        onError: () => {
          throw new Error('hook');
        },
      };
      const rejecting = { ...options, onError: () => Promise.reject(new Error('hook')) };
      await expect(
        handleCommand(store, id, { add: 1 }, tally, { snapshots: rejecting }),
      ).resolves.toMatchObject({
        nextExpectedVersion: 2,
      });
      await expect(
        handleCommand(store, id, { add: 1 }, tally, { snapshots: throwing }),
      ).resolves.toMatchObject({
        nextExpectedVersion: 3,
      });
      expect(await h.store.snapshots.load(id)).toBeNull();
    });

    it('still recognises a retried command whose events lie just before the snapshot', async (ctx) => {
      needsSnapshots(ctx, h.store);
      const id = streamId('tally');
      const commandId = randomUUID();
      await add(id, 1);
      const first = await add(id, 7, v1, commandId);
      await add(id, 1);
      expect((await h.store.snapshots.load(id))?.version).toBe(3);
      const retried = await add(id, 7, v1, commandId);
      expect(retried).toMatchObject({ alreadyApplied: true, nextExpectedVersion: 2 });
      expect(retried.events.map((e) => e.id)).toEqual([eventIdFor(commandId, 0)]);
      expect(first.events.map((e) => e.id)).toEqual([eventIdFor(commandId, 0)]);
      expect(await readStream(h.store, id)).toHaveLength(3);
    });

    it('decodes and encodes a state that is not JSON', async (ctx) => {
      needsSnapshots(ctx, h.store);
      const id = streamId('tally');
      const seen: Decider<Set<number>, { add: number }, Added> = {
        initialState: () => new Set(),
        evolve: (s, e) => new Set([...s, e.data.n]),
        decide: (c) => [{ type: 'Added', data: { n: c.add } }],
      };
      const options: SnapshotOptions<Set<number>> = {
        schemaVersion: 1,
        every: 2,
        encode: (s) => [...s].sort((a, b) => a - b),
        decode: (json) => new Set(json as number[]),
      };
      for (const n of [3, 1, 2]) await handleCommand(h.store, id, { add: n }, seen, { snapshots: options });
      expect((await h.store.snapshots.load(id))?.state).toEqual([1, 3]);
      const result = await handleCommand(h.store, id, { add: 1 }, seen, { snapshots: options });
      expect([...result.state].sort()).toEqual([1, 2, 3]);
    });

    it('rejects bad snapshot options with INVALID_ARGUMENT before anything is read', async () => {
      const id = streamId('tally');
      for (const snapshots of [
        {},
        { schemaVersion: 0 },
        { schemaVersion: '1' },
        { schemaVersion: 1, every: 0 },
        { schemaVersion: 1, every: 2.5 },
        { schemaVersion: 1, encode: 'json' },
        { schemaVersion: 1, onError: true },
        { schemaVersion: 1, interval: 10 },
        'yes',
      ]) {
        await expect(
          handleCommand(h.store, id, { add: 1 }, tally, { snapshots } as never),
        ).rejects.toMatchObject({
          code: 'INVALID_ARGUMENT',
        });
      }
      expect(await h.store.streamVersion(id)).toBe(0);
    });

    it('reads the whole stream on a store without snapshots', async (ctx) => {
      skipUnlessCapable(ctx, h.store.capabilities.snapshots !== true, 'no snapshots (the store has them)');
      const id = streamId('tally');
      await add(id, 1);
      await add(id, 1);
      const result = await add(id, 1, { schemaVersion: 1, every: 1 });
      expect(result.state).toEqual({ total: 3, folded: 3 });
    });
  });
}
