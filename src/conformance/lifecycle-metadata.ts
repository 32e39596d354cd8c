import { describe, expect, it } from 'vitest';
import type { StreamMetadata } from '../index.js';
import { needsLifecycle } from './lifecycle-delete.js';
import {
  type ConformanceTarget,
  collect,
  events,
  readPrefix,
  readStream,
  sleep,
  uniquePrefix,
  useStore,
} from './support.js';

export function lifecycleMetadataTests(target: ConformanceTarget): void {
  describe('lifecycle: stream metadata and retention', () => {
    const h = useStore(target);

    async function written(n: number) {
      const prefix = uniquePrefix();
      const id = `${prefix}s`;
      await h.store.append(id, events(n), { expectedVersion: 'no_stream' });
      return { id, prefix };
    }

    it('reads empty at metadata version 0, then replaces it at an expected metadata version', async (ctx) => {
      needsLifecycle(ctx, h.store);
      const id = `${uniquePrefix()}s`;
      expect(await h.store.getStreamMetadata(id)).toEqual({ metadata: {}, metadataVersion: 0 });
      const first: StreamMetadata = {
        maxCount: 10,
        maxAge: 3600,
        custom: { owner: 'billing', tags: ['a', 1] },
      };
      await expect(h.store.setStreamMetadata(id, first, { expectedMetadataVersion: 0 })).resolves.toEqual({
        metadataVersion: 1,
      });
      expect(await h.store.getStreamMetadata(id)).toEqual({ metadata: first, metadataVersion: 1 });
      await expect(
        h.store.setStreamMetadata(id, { custom: { v: 2 } }, { expectedMetadataVersion: 1 }),
      ).resolves.toEqual({ metadataVersion: 2 });
      expect(await h.store.getStreamMetadata(id)).toEqual({
        metadata: { custom: { v: 2 } },
        metadataVersion: 2,
      });
      await expect(h.store.setStreamMetadata(id, {})).resolves.toEqual({ metadataVersion: 3 });
      // Metadata on a stream with no events does not make the stream exist.
      expect(await h.store.streamVersion(id)).toBe(0);
      await h.store.append(id, events(1), { expectedVersion: 'no_stream' });
    });

    it('at a stale metadata version is WRONG_EXPECTED_VERSION and changes nothing', async (ctx) => {
      needsLifecycle(ctx, h.store);
      const { id } = await written(1);
      await h.store.setStreamMetadata(id, { custom: { a: 1 } });
      for (const expectedMetadataVersion of [0, 2]) {
        await expect(
          h.store.setStreamMetadata(id, { maxCount: 1 }, { expectedMetadataVersion }),
        ).rejects.toMatchObject({ code: 'WRONG_EXPECTED_VERSION', streamId: id });
      }
      expect(await h.store.getStreamMetadata(id)).toEqual({
        metadata: { custom: { a: 1 } },
        metadataVersion: 1,
      });
    });

    it('rejects unknown keys, counts and ages below 1, and bad truncations with INVALID_ARGUMENT', async (ctx) => {
      needsLifecycle(ctx, h.store);
      const { id } = await written(3);
      await h.store.truncateStream(id, { before: 2 });
      const bad: unknown[] = [
        { $maxCount: 1 },
        { maxcount: 1 },
        { maxCount: 0 },
        { maxCount: -1 },
        { maxCount: 1.5 },
        { maxAge: 0 },
        { maxAge: -5 },
        { maxAge: '60' },
        { truncateBefore: 0 },
        { truncateBefore: 5 },
        { truncateBefore: 1 },
        { custom: [1] },
        { custom: 'x' },
        { custom: { n: Number.NaN } },
        null,
        [],
      ];
      for (const metadata of bad) {
        await expect(h.store.setStreamMetadata(id, metadata as StreamMetadata)).rejects.toMatchObject({
          code: 'INVALID_ARGUMENT',
        });
      }
      await expect(h.store.setStreamMetadata(id, {}, { expectedMetadataVersion: -1 })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
      expect(await h.store.getStreamMetadata(id)).toEqual({
        metadata: { truncateBefore: 2 },
        metadataVersion: 0,
      });
      expect((await readStream(h.store, id)).map((e) => e.version)).toEqual([2, 3]);
    });

    it('keeps the metadata over a soft delete, with truncateBefore past the deleted events', async (ctx) => {
      needsLifecycle(ctx, h.store);
      const { id } = await written(2);
      await h.store.setStreamMetadata(id, { custom: { keep: true } });
      await h.store.deleteStream(id);
      expect(await h.store.getStreamMetadata(id)).toEqual({
        metadata: { custom: { keep: true }, truncateBefore: 3 },
        metadataVersion: 1,
      });
      // A metadata write never brings deleted events back.
      await h.store.setStreamMetadata(id, { custom: { keep: false } });
      expect(await readStream(h.store, id)).toEqual([]);
      expect((await h.store.getStreamMetadata(id)).metadata.truncateBefore).toBe(3);
    });

    it('truncateBefore in metadata truncates like truncateStream', async (ctx) => {
      needsLifecycle(ctx, h.store);
      const { id, prefix } = await written(4);
      await h.store.setStreamMetadata(id, { truncateBefore: 3 });
      expect((await readStream(h.store, id)).map((e) => e.version)).toEqual([3, 4]);
      expect((await readPrefix(h.store, prefix)).map((e) => e.version)).toEqual([3, 4]);
    });

    it('maxCount hides older events at once, everywhere, and enforceRetention removes them', async (ctx) => {
      needsLifecycle(ctx, h.store);
      const { id, prefix } = await written(5);
      await h.store.setStreamMetadata(id, { maxCount: 2 });
      expect((await readStream(h.store, id)).map((e) => e.version)).toEqual([4, 5]);
      expect((await readPrefix(h.store, prefix)).map((e) => e.version)).toEqual([4, 5]);
      expect(await h.store.streamVersion(id)).toBe(5);
      await h.store.append(id, events(1), { expectedVersion: 5 });
      expect((await readStream(h.store, id)).map((e) => e.version)).toEqual([5, 6]);
      const { removedEvents } = await h.store.enforceRetention();
      expect(removedEvents).toBeGreaterThanOrEqual(4);
      expect((await readStream(h.store, id)).map((e) => e.version)).toEqual([5, 6]);
      expect((await readPrefix(h.store, prefix)).map((e) => e.version)).toEqual([5, 6]);
      // Raising maxCount again cannot bring removed events back.
      await h.store.setStreamMetadata(id, { maxCount: 100 });
      expect((await readStream(h.store, id)).map((e) => e.version)).toEqual([5, 6]);
    });

    it('maxAge hides events older than that many seconds, and enforceRetention removes them', async (ctx) => {
      needsLifecycle(ctx, h.store);
      const { id, prefix } = await written(2);
      await h.store.setStreamMetadata(id, { maxAge: 3600 });
      expect((await readStream(h.store, id)).map((e) => e.version)).toEqual([1, 2]);
      await sleep(1_100);
      await h.store.setStreamMetadata(id, { maxAge: 1 });
      expect(await readStream(h.store, id)).toEqual([]);
      expect(await collect(h.store.readStream(id, { direction: 'backwards' }))).toEqual([]);
      expect(await readPrefix(h.store, prefix)).toEqual([]);
      expect(await h.store.streamVersion(id)).toBe(2);
      const { removedEvents } = await h.store.enforceRetention();
      expect(removedEvents).toBeGreaterThanOrEqual(2);
      await h.store.setStreamMetadata(id, { maxAge: 3600 });
      expect(await readStream(h.store, id)).toEqual([]);
    });

    it('forgets the ids enforceRetention removed: a retry at any writes them again', async (ctx) => {
      needsLifecycle(ctx, h.store);
      const id = `${uniquePrefix()}s`;
      const batch = events(3);
      await h.store.append(id, batch, { expectedVersion: 'no_stream' });
      await h.store.setStreamMetadata(id, { maxCount: 1 });
      await h.store.enforceRetention();
      await expect(h.store.append(id, batch.slice(0, 2))).resolves.toMatchObject({ nextExpectedVersion: 5 });
      // The kept event is still recognised.
      await expect(h.store.append(id, batch.slice(2))).resolves.toMatchObject({ nextExpectedVersion: 3 });
    });

    it('enforceRetention is safe to repeat and leaves streams without retention alone', async (ctx) => {
      needsLifecycle(ctx, h.store);
      const { id } = await written(3);
      await h.store.enforceRetention();
      await h.store.enforceRetention();
      expect((await readStream(h.store, id)).map((e) => e.version)).toEqual([1, 2, 3]);
    });
  });
}
