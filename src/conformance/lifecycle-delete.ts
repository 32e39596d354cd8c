import { describe, expect, it, type TestContext } from 'vitest';
import type { EventStore } from '../index.js';
import {
  type ConformanceTarget,
  collect,
  events,
  readPrefix,
  readStream,
  skipUnlessCapable,
  uniquePrefix,
  useStore,
} from './support.js';

/** Skips the running test, visibly, unless the store declares the lifecycle capability. */
export function needsLifecycle(ctx: TestContext, store: EventStore): void {
  skipUnlessCapable(
    ctx,
    store.capabilities.lifecycle === true,
    'lifecycle (delete, truncate, stream metadata)',
  );
}

export function lifecycleDeleteTests(target: ConformanceTarget): void {
  describe('lifecycle: delete and truncate', () => {
    const h = useStore(target);

    /** A stream of `n` events under a fresh prefix, so readAll can be checked in isolation. */
    async function written(n: number) {
      const prefix = uniquePrefix();
      const id = `${prefix}s`;
      const batch = events(n);
      await h.store.append(id, batch, { expectedVersion: 'no_stream' });
      return { id, prefix, batch };
    }

    describe('soft delete', () => {
      it('empties the stream for readStream and readAll while its version carries on', async (ctx) => {
        needsLifecycle(ctx, h.store);
        const { id, prefix } = await written(3);
        await expect(h.store.deleteStream(id, { expectedVersion: 3 })).resolves.toEqual({ version: 3 });
        expect(await readStream(h.store, id)).toEqual([]);
        expect(await collect(h.store.readStream(id, { direction: 'backwards' }))).toEqual([]);
        expect(await readPrefix(h.store, prefix)).toEqual([]);
        expect(await h.store.streamVersion(id)).toBe(3);
      });

      it("recreates the stream at version + 1 on an append at 'any', 'no_stream' or the last version", async (ctx) => {
        needsLifecycle(ctx, h.store);
        for (const expectedVersion of ['any', 'no_stream', 0, 2] as const) {
          const { id, prefix } = await written(2);
          await h.store.deleteStream(id);
          const result = await h.store.append(id, events(2, 10), { expectedVersion });
          expect(result.nextExpectedVersion).toBe(4);
          const stored = await readStream(h.store, id);
          expect(stored.map((e) => [e.version, e.data])).toEqual([
            [3, { i: 10 }],
            [4, { i: 11 }],
          ]);
          expect((await readPrefix(h.store, prefix)).map((e) => e.version)).toEqual([3, 4]);
          expect(await h.store.streamVersion(id)).toBe(4);
        }
      });

      it("rejects 'stream_exists' and other versions on a soft-deleted stream", async (ctx) => {
        needsLifecycle(ctx, h.store);
        const { id } = await written(2);
        await h.store.deleteStream(id);
        for (const expectedVersion of ['stream_exists', 1, 3] as const) {
          await expect(h.store.append(id, events(1), { expectedVersion })).rejects.toMatchObject({
            code: 'WRONG_EXPECTED_VERSION',
          });
        }
        expect(await readStream(h.store, id)).toEqual([]);
      });

      it('is idempotent: a retried soft delete succeeds and changes nothing', async (ctx) => {
        needsLifecycle(ctx, h.store);
        const { id } = await written(2);
        await h.store.deleteStream(id, { expectedVersion: 2 });
        for (const expectedVersion of [2, 'any', 'no_stream'] as const) {
          await expect(h.store.deleteStream(id, { expectedVersion })).resolves.toEqual({ version: 2 });
        }
        expect(await h.store.streamVersion(id)).toBe(2);
        await h.store.append(id, events(1), { expectedVersion: 2 });
        expect((await readStream(h.store, id)).map((e) => e.version)).toEqual([3]);
      });

      it('at a wrong expected version is WRONG_EXPECTED_VERSION and deletes nothing', async (ctx) => {
        needsLifecycle(ctx, h.store);
        const { id, prefix } = await written(3);
        const before = await readStream(h.store, id);
        for (const expectedVersion of [2, 4, 'no_stream'] as const) {
          for (const hard of [false, true]) {
            await expect(h.store.deleteStream(id, { expectedVersion, hard })).rejects.toMatchObject({
              code: 'WRONG_EXPECTED_VERSION',
              streamId: id,
            });
          }
        }
        expect(await readStream(h.store, id)).toEqual(before);
        expect(await readPrefix(h.store, prefix)).toEqual(before);
      });

      it('of a stream that never existed succeeds at no_stream and fails at a version', async (ctx) => {
        needsLifecycle(ctx, h.store);
        const id = `${uniquePrefix()}s`;
        await expect(h.store.deleteStream(id, { expectedVersion: 'no_stream' })).resolves.toEqual({
          version: 0,
        });
        await expect(h.store.deleteStream(id, { expectedVersion: 1 })).rejects.toMatchObject({
          code: 'WRONG_EXPECTED_VERSION',
        });
        await h.store.append(id, events(1), { expectedVersion: 'no_stream' });
        expect((await readStream(h.store, id)).map((e) => e.version)).toEqual([1]);
      });

      it('forgets the deleted ids: a retry of an earlier append is judged against the stream as it is now', async (ctx) => {
        needsLifecycle(ctx, h.store);
        const { id, batch } = await written(2);
        await h.store.deleteStream(id);
        // 'any': the ids are unknown now, so the retry writes the events again, after the deleted ones.
        await expect(h.store.append(id, batch)).resolves.toMatchObject({ nextExpectedVersion: 4 });
        expect((await readStream(h.store, id)).map((e) => [e.version, e.id])).toEqual([
          [3, batch[0]!.id],
          [4, batch[1]!.id],
        ]);
        // An exact version before the delete can no longer be matched against deleted events.
        const { id: other, batch: first } = await written(2);
        await h.store.append(other, events(1, 5));
        await h.store.deleteStream(other);
        await expect(h.store.append(other, first, { expectedVersion: 1 })).rejects.toMatchObject({
          code: 'WRONG_EXPECTED_VERSION',
        });
      });
    });

    describe('hard delete (tombstone)', () => {
      it('makes every later append, read and lifecycle call STREAM_DELETED', async (ctx) => {
        needsLifecycle(ctx, h.store);
        const { id, prefix } = await written(2);
        await expect(h.store.deleteStream(id, { expectedVersion: 2, hard: true })).resolves.toEqual({
          version: 2,
        });
        const deleted = { code: 'STREAM_DELETED', streamId: id };
        await expect(h.store.append(id, events(1))).rejects.toMatchObject(deleted);
        await expect(h.store.append(id, events(1), { expectedVersion: 'no_stream' })).rejects.toMatchObject(
          deleted,
        );
        await expect(h.store.append(id, [])).rejects.toMatchObject(deleted);
        await expect(readStream(h.store, id)).rejects.toMatchObject(deleted);
        await expect(h.store.streamVersion(id)).rejects.toMatchObject(deleted);
        await expect(h.store.getStreamMetadata(id)).rejects.toMatchObject(deleted);
        await expect(h.store.setStreamMetadata(id, { maxCount: 1 })).rejects.toMatchObject(deleted);
        await expect(h.store.truncateStream(id, { before: 1 })).rejects.toMatchObject(deleted);
        await expect(h.store.deleteStream(id)).rejects.toMatchObject(deleted);
        expect(await readPrefix(h.store, prefix)).toEqual([]);
      });

      it('is idempotent: hard-deleting a tombstone again succeeds', async (ctx) => {
        needsLifecycle(ctx, h.store);
        const { id } = await written(2);
        await h.store.deleteStream(id, { hard: true });
        await expect(h.store.deleteStream(id, { hard: true, expectedVersion: 2 })).resolves.toEqual({
          version: 2,
        });
        await expect(h.store.deleteStream(id, { hard: true })).resolves.toEqual({ version: 2 });
      });

      it('can follow a soft delete, and tombstones a name that never had events', async (ctx) => {
        needsLifecycle(ctx, h.store);
        const { id } = await written(2);
        await h.store.deleteStream(id);
        await h.store.deleteStream(id, { hard: true, expectedVersion: 2 });
        await expect(h.store.append(id, events(1))).rejects.toMatchObject({ code: 'STREAM_DELETED' });
        const never = `${uniquePrefix()}s`;
        await h.store.deleteStream(never, { hard: true, expectedVersion: 'no_stream' });
        await expect(h.store.append(never, events(1))).rejects.toMatchObject({ code: 'STREAM_DELETED' });
      });
    });

    describe('truncate', () => {
      it('removes the events before a version from readStream and readAll, keeping the version', async (ctx) => {
        needsLifecycle(ctx, h.store);
        const { id, prefix } = await written(5);
        await h.store.truncateStream(id, { before: 3, expectedVersion: 5 });
        expect((await readStream(h.store, id)).map((e) => e.version)).toEqual([3, 4, 5]);
        const backwards = await collect(h.store.readStream(id, { direction: 'backwards' }));
        expect(backwards.map((e) => e.version)).toEqual([5, 4, 3]);
        expect(
          (await collect(h.store.readStream(id, { fromVersion: 1, maxCount: 1 }))).map((e) => e.version),
        ).toEqual([3]);
        expect((await readPrefix(h.store, prefix)).map((e) => e.version)).toEqual([3, 4, 5]);
        expect(await h.store.streamVersion(id)).toBe(5);
        expect((await h.store.getStreamMetadata(id)).metadata.truncateBefore).toBe(3);
        await h.store.append(id, events(1), { expectedVersion: 5 });
        expect((await readStream(h.store, id)).map((e) => e.version)).toEqual([3, 4, 5, 6]);
      });

      it('up to the end empties the stream but leaves it existing', async (ctx) => {
        needsLifecycle(ctx, h.store);
        const { id } = await written(2);
        await h.store.truncateStream(id, { before: 3 });
        expect(await readStream(h.store, id)).toEqual([]);
        await expect(
          h.store.append(id, events(1), { expectedVersion: 'stream_exists' }),
        ).resolves.toMatchObject({
          nextExpectedVersion: 3,
        });
      });

      it('past the end is INVALID_ARGUMENT, at a wrong version WRONG_EXPECTED_VERSION; both remove nothing', async (ctx) => {
        needsLifecycle(ctx, h.store);
        const { id } = await written(3);
        const before = await readStream(h.store, id);
        await expect(h.store.truncateStream(id, { before: 5 })).rejects.toMatchObject({
          code: 'INVALID_ARGUMENT',
        });
        await expect(h.store.truncateStream(id, { before: 2, expectedVersion: 2 })).rejects.toMatchObject({
          code: 'WRONG_EXPECTED_VERSION',
        });
        for (const bad of [0, -1, 1.5, '2', undefined]) {
          await expect(
            h.store.truncateStream(id, { before: bad } as unknown as { before: number }),
          ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
        }
        expect(await readStream(h.store, id)).toEqual(before);
      });

      it('never goes back: a lower truncation changes nothing', async (ctx) => {
        needsLifecycle(ctx, h.store);
        const { id } = await written(4);
        await h.store.truncateStream(id, { before: 3 });
        await h.store.truncateStream(id, { before: 2 });
        expect((await readStream(h.store, id)).map((e) => e.version)).toEqual([3, 4]);
        expect((await h.store.getStreamMetadata(id)).metadata.truncateBefore).toBe(3);
      });

      it('forgets the truncated ids: an append at any with them writes them again', async (ctx) => {
        needsLifecycle(ctx, h.store);
        const { id, batch } = await written(3);
        await h.store.truncateStream(id, { before: 3 });
        await expect(h.store.append(id, batch.slice(0, 1))).resolves.toMatchObject({
          nextExpectedVersion: 4,
        });
        // The surviving event is still recognised.
        await expect(h.store.append(id, batch.slice(2))).resolves.toMatchObject({ nextExpectedVersion: 3 });
      });
    });

    describe('and subscriptions', () => {
      it('a catch-up subscription delivers none of the deleted, tombstoned or truncated events', async (ctx) => {
        needsLifecycle(ctx, h.store);
        const prefix = uniquePrefix();
        const [soft, hard, cut] = [`${prefix}soft`, `${prefix}hard`, `${prefix}cut`];
        await h.store.append(soft, events(2));
        await h.store.append(hard, events(2));
        await h.store.append(cut, events(3));
        await h.store.deleteStream(soft);
        await h.store.deleteStream(hard, { hard: true });
        await h.store.truncateStream(cut, { before: 3 });
        const seen: Array<[string, number]> = [];
        const sub = h.store.subscribe({
          filter: { streamPrefix: prefix },
          handler: (e) => {
            seen.push([e.streamId, e.version]);
          },
        });
        await sub.caughtUp;
        await sub.stop();
        await sub.done;
        expect(seen).toEqual([[cut, 3]]);
      });
    });
  });
}
