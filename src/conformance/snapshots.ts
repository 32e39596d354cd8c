import { describe, expect, it, type TestContext } from 'vitest';
import type { EventStore } from '../index.js';
import { SNAPSHOT_OVERHEAD_BYTES } from '../index.js';
import { needsLifecycle } from './lifecycle-delete.js';
import {
  type ConformanceTarget,
  events,
  readPrefix,
  readStream,
  skipUnlessCapable,
  streamId,
  uniquePrefix,
  useStore,
} from './support.js';

/** Skips the running test, visibly, unless the store declares the snapshots capability. */
export function needsSnapshots(ctx: TestContext, store: EventStore): void {
  skipUnlessCapable(ctx, store.capabilities.snapshots === true, 'snapshots');
}

export function snapshotTests(target: ConformanceTarget): void {
  describe('snapshots', () => {
    const h = useStore(target);

    it('loads null for a stream without a snapshot, and the snapshot as saved once saved', async (ctx) => {
      needsSnapshots(ctx, h.store);
      const id = streamId('snap');
      expect(await h.store.snapshots.load(id)).toBeNull();
      const state = { total: 42, lines: [{ sku: 'a', qty: 2 }], note: 'é😀', none: null, ok: true };
      await h.store.snapshots.save(id, { state, version: 7, schemaVersion: 3 });
      expect(await h.store.snapshots.load(id)).toEqual({ state, version: 7, schemaVersion: 3 });
      for (const scalar of [0, 'text', false, null, [1, [2]]]) {
        await h.store.snapshots.save(id, { state: scalar, version: 8, schemaVersion: 1 });
        expect(await h.store.snapshots.load(id)).toEqual({ state: scalar, version: 8, schemaVersion: 1 });
      }
    });

    it('replaces the snapshot on every save, whatever its version (last write wins)', async (ctx) => {
      needsSnapshots(ctx, h.store);
      const id = streamId('snap');
      await h.store.snapshots.save(id, { state: { n: 1 }, version: 10, schemaVersion: 1 });
      await h.store.snapshots.save(id, { state: { n: 2 }, version: 20, schemaVersion: 1 });
      expect(await h.store.snapshots.load(id)).toEqual({ state: { n: 2 }, version: 20, schemaVersion: 1 });
      await h.store.snapshots.save(id, { state: { n: 3 }, version: 5, schemaVersion: 2 });
      expect(await h.store.snapshots.load(id)).toEqual({ state: { n: 3 }, version: 5, schemaVersion: 2 });
    });

    it('keeps one snapshot per stream', async (ctx) => {
      needsSnapshots(ctx, h.store);
      const a = streamId('snap');
      const b = streamId('snap');
      await Promise.all([
        h.store.snapshots.save(a, { state: 'a', version: 1, schemaVersion: 1 }),
        h.store.snapshots.save(b, { state: 'b', version: 2, schemaVersion: 1 }),
      ]);
      expect(await h.store.snapshots.load(a)).toEqual({ state: 'a', version: 1, schemaVersion: 1 });
      expect(await h.store.snapshots.load(b)).toEqual({ state: 'b', version: 2, schemaVersion: 1 });
    });

    it('never shows in readStream, readAll or streamVersion', async (ctx) => {
      needsSnapshots(ctx, h.store);
      const prefix = uniquePrefix();
      const id = `${prefix}s`;
      const only = `${prefix}only-a-snapshot`;
      const batch = events(3);
      await h.store.append(id, batch, { expectedVersion: 'no_stream' });
      await h.store.snapshots.save(id, { state: { n: 3 }, version: 3, schemaVersion: 1 });
      await h.store.snapshots.save(only, { state: { n: 9 }, version: 9, schemaVersion: 1 });
      expect((await readStream(h.store, id)).map((e) => e.id)).toEqual(batch.map((e) => e.id));
      expect((await readPrefix(h.store, prefix)).map((e) => e.id)).toEqual(batch.map((e) => e.id));
      expect(await h.store.streamVersion(id)).toBe(3);
      expect(await readStream(h.store, only)).toEqual([]);
      expect(await h.store.streamVersion(only)).toBe(0);
      const next = await h.store.append(id, events(1), { expectedVersion: 3 });
      expect(next.nextExpectedVersion).toBe(4);
      await h.store.append(only, events(1), { expectedVersion: 'no_stream' });
      expect(await h.store.streamVersion(only)).toBe(1);
    });

    it('rejects bad input with INVALID_ARGUMENT and writes nothing', async (ctx) => {
      needsSnapshots(ctx, h.store);
      const id = streamId('snap');
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      const bad: Array<[string, unknown, unknown]> = [
        ['', { state: 1, version: 1, schemaVersion: 1 }, 'streamId'],
        [id, undefined, 'snapshot'],
        [id, 'state', 'snapshot'],
        [id, { version: 1, schemaVersion: 1 }, 'snapshot.state'],
        [id, { state: undefined, version: 1, schemaVersion: 1 }, 'snapshot.state'],
        [id, { state: () => 1, version: 1, schemaVersion: 1 }, 'snapshot.state'],
        [id, { state: { n: Number.NaN }, version: 1, schemaVersion: 1 }, 'snapshot.state.n'],
        [id, { state: 10n, version: 1, schemaVersion: 1 }, 'snapshot.state'],
        [id, { state: new Date(0), version: 1, schemaVersion: 1 }, 'snapshot.state'],
        [id, { state: cyclic, version: 1, schemaVersion: 1 }, undefined],
        [id, { state: 1, version: 0, schemaVersion: 1 }, 'snapshot.version'],
        [id, { state: 1, version: -1, schemaVersion: 1 }, 'snapshot.version'],
        [id, { state: 1, version: 1.5, schemaVersion: 1 }, 'snapshot.version'],
        [id, { state: 1, version: '1', schemaVersion: 1 }, 'snapshot.version'],
        [id, { state: 1, version: 2 ** 53, schemaVersion: 1 }, 'snapshot.version'],
        [id, { state: 1, version: 1 }, 'snapshot.schemaVersion'],
        [id, { state: 1, version: 1, schemaVersion: 0 }, 'snapshot.schemaVersion'],
        [id, { state: 1, version: 1, schemaVersion: 1, extra: true }, 'snapshot.extra'],
      ];
      for (const [stream, snapshot, argument] of bad) {
        const saved = h.store.snapshots.save(stream, snapshot as never);
        await expect(saved).rejects.toMatchObject({
          code: 'INVALID_ARGUMENT',
          ...(argument === undefined ? {} : { argument }),
        });
      }
      await expect(h.store.snapshots.load('')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(h.store.snapshots.load(7 as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      expect(await h.store.snapshots.load(id)).toBeNull();
    });

    it('rejects a state over maxEventBytes with EVENT_TOO_LARGE and keeps the snapshot before it', async (ctx) => {
      needsSnapshots(ctx, h.store);
      const id = streamId('snap');
      const { maxEventBytes } = h.store.capabilities;
      const fits = 'x'.repeat(maxEventBytes - SNAPSHOT_OVERHEAD_BYTES - 2);
      await h.store.snapshots.save(id, { state: fits, version: 1, schemaVersion: 1 });
      expect((await h.store.snapshots.load(id))?.state).toBe(fits);
      const big = h.store.snapshots.save(id, { state: `${fits}x`, version: 2, schemaVersion: 1 });
      await expect(big).rejects.toMatchObject({ code: 'EVENT_TOO_LARGE', operation: 'saveSnapshot' });
      expect((await h.store.snapshots.load(id))?.version).toBe(1);
    });

    it('is STORE_CLOSED once the store is closed', async (ctx) => {
      needsSnapshots(ctx, h.store);
      const store = await target.create();
      await store.close();
      const saved = store.snapshots.save(streamId('snap'), { state: 1, version: 1, schemaVersion: 1 });
      await expect(saved).rejects.toMatchObject({ code: 'STORE_CLOSED' });
      await expect(store.snapshots.load(streamId('snap'))).rejects.toMatchObject({ code: 'STORE_CLOSED' });
    });

    it('is NOT_SUPPORTED without capabilities.snapshots', async (ctx) => {
      skipUnlessCapable(ctx, h.store.capabilities.snapshots !== true, 'no snapshots (the store has them)');
      const saved = h.store.snapshots.save(streamId('snap'), { state: 1, version: 1, schemaVersion: 1 });
      await expect(saved).rejects.toMatchObject({ code: 'NOT_SUPPORTED', capability: 'snapshots' });
      await expect(h.store.snapshots.load(streamId('snap'))).rejects.toMatchObject({ code: 'NOT_SUPPORTED' });
    });

    describe('with the stream lifecycle', () => {
      it('removes the snapshot with the stream on a soft delete, and keeps none for the recreated stream', async (ctx) => {
        needsSnapshots(ctx, h.store);
        needsLifecycle(ctx, h.store);
        const id = streamId('snap');
        await h.store.append(id, events(3));
        await h.store.snapshots.save(id, { state: { n: 3 }, version: 3, schemaVersion: 1 });
        await h.store.deleteStream(id);
        expect(await h.store.snapshots.load(id)).toBeNull();
        await h.store.append(id, events(1));
        expect(await h.store.snapshots.load(id)).toBeNull();
        await h.store.snapshots.save(id, { state: { n: 4 }, version: 4, schemaVersion: 1 });
        expect(await h.store.snapshots.load(id)).toEqual({ state: { n: 4 }, version: 4, schemaVersion: 1 });
      });

      it('removes the snapshot on a hard delete; the tombstone is STREAM_DELETED for save and load', async (ctx) => {
        needsSnapshots(ctx, h.store);
        needsLifecycle(ctx, h.store);
        const id = streamId('snap');
        await h.store.append(id, events(2));
        await h.store.snapshots.save(id, { state: 2, version: 2, schemaVersion: 1 });
        await h.store.deleteStream(id, { hard: true });
        await expect(h.store.snapshots.load(id)).rejects.toMatchObject({ code: 'STREAM_DELETED' });
        const saved = h.store.snapshots.save(id, { state: 2, version: 2, schemaVersion: 1 });
        await expect(saved).rejects.toMatchObject({ code: 'STREAM_DELETED' });
      });

      it('keeps the snapshot through a truncation', async (ctx) => {
        needsSnapshots(ctx, h.store);
        needsLifecycle(ctx, h.store);
        const id = streamId('snap');
        await h.store.append(id, events(5));
        await h.store.snapshots.save(id, { state: 4, version: 4, schemaVersion: 1 });
        await h.store.truncateStream(id, { before: 5 });
        expect(await h.store.snapshots.load(id)).toEqual({ state: 4, version: 4, schemaVersion: 1 });
      });
    });
  });
}
