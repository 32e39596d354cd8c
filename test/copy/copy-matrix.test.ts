/**
 * copyStore between every ordered pair of backends, in process: a child process could reach every backend here
 * (the EventStoreDB emulator listens on a TCP port), but each would pay a PGlite start; copy-cli.test.ts runs the
 * command itself.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MemoryEventStore } from '../../src/adapters/memory/index.js';
import { type Capabilities, copyStore, verifyCopy } from '../../src/index.js';
import {
  KINDS,
  type Kind,
  portable,
  readAll,
  untilReadAllHas,
  useFreshStores,
  writeDescribed,
  writeLifecycleSample,
  writeSample,
} from './support.js';

const open = useFreshStores();

/** A store as an adapter written before `importFirstVersion` declares itself. */
class WithoutFirstVersion extends MemoryEventStore {
  override readonly capabilities: Capabilities = (() => {
    const { importFirstVersion: _, ...rest } = new MemoryEventStore().capabilities;
    return rest;
  })();
}

const PAIRS: Array<[Kind, Kind]> = KINDS.flatMap((from) =>
  KINDS.filter((to) => to !== from).map((to): [Kind, Kind] => [from, to]),
);

describe('copyStore between every pair of backends', () => {
  it.each(PAIRS)(
    '%s → %s: same streams, versions, ids, types, data, metadata, createdAt and stream metadata, in the same order',
    async (from, to) => {
      const source = await open(from);
      const target = await open(to);
      try {
        const n = await writeSample(source.store);
        const life = await writeLifecycleSample(source.store);
        const total = n + life.events;
        const streams = 3 + 4;
        await untilReadAllHas(source.store, total);
        const result = await copyStore(source.store, target.store);
        expect(result).toMatchObject({ done: total, written: total, present: 0, streams });
        expect(result.metadataWritten).toBe(2);
        await untilReadAllHas(target.store, total);
        const [before, after] = [await readAll(source.store), await readAll(target.store)];
        expect(after.map(portable)).toEqual(before.map(portable));
        // Positions are the target's, in the source's order.
        for (let i = 1; i < after.length; i++) expect(after[i]!.position > after[i - 1]!.position).toBe(true);
        expect(await verifyCopy(source.store, target.store)).toMatchObject({ ok: true, mismatches: [] });
        {
          expect(await target.store.streamVersion(life.truncated)).toBe(4);
          expect(await target.store.getStreamMetadata(life.truncated)).toMatchObject({
            metadata: { truncateBefore: 3 },
          });
          expect((await target.store.getStreamMetadata(life.retained)).metadata).toEqual({
            maxCount: 2,
            truncateBefore: 2,
            custom: { unit: 'celsius', owner: 'ops' },
          });
          expect((await target.store.getStreamMetadata(life.recreated)).metadata).toEqual({
            truncateBefore: 3,
          });
          // The target's streams go on where the source's are.
          const next = { id: randomUUID(), type: 'Added', data: 4 };
          await target.store.append(life.recreated, [next], { expectedVersion: 3 });
          await source.store.append(life.recreated, [next], { expectedVersion: 3 });
        }

        // Run again: nothing is written twice, and metadata that matches is left alone.
        const again = await copyStore(source.store, target.store);
        expect(again).toMatchObject({ done: total + 1, metadataWritten: 0 });
        expect(again.written).toBe(0);
        expect((await readAll(target.store)).length).toBe(total + 1);
      } finally {
        await Promise.allSettled([source.close(), target.close()]);
      }
    },
  );

  it('resumes an interrupted copy of streams that start past version 1, metadata included', async () => {
    const source = await open('memory');
    const target = await open('dynamodb');
    try {
      const n = await writeSample(source.store);
      const life = await writeLifecycleSample(source.store);
      const total = n + life.events;
      const stop = new AbortController();
      // Stop right after the truncated stream's first event is in: its import happened, its second event did not.
      const interrupted = copyStore(source.store, target.store, {
        maxBatch: 1,
        signal: stop.signal,
        onProgress: (p) => {
          if (p.done === n + 1) stop.abort(new Error('interrupted'));
        },
      });
      await expect(interrupted).rejects.toThrow('interrupted');
      expect(await target.store.streamVersion(life.truncated)).toBe(3);
      const resumed = await copyStore(source.store, target.store);
      expect(resumed).toMatchObject({
        done: total,
        present: n + 1,
        written: total - n - 1,
        metadataWritten: 2,
      });
      await untilReadAllHas(target.store, total);
      expect(await verifyCopy(source.store, target.store)).toMatchObject({ ok: true, mismatches: [] });
    } finally {
      await Promise.allSettled([source.close(), target.close()]);
    }
  });

  it('refuses a stream that starts past version 1 when the target lacks importFirstVersion, writing none of it', async () => {
    const source = await open('memory');
    const target = new WithoutFirstVersion();
    try {
      await writeDescribed(source.store, 'profile');
      const late = await writeLifecycleSample(source.store, 'late-');
      await expect(copyStore(source.store, target)).rejects.toMatchObject({
        code: 'NOT_SUPPORTED',
        capability: 'importFirstVersion',
      });
      expect(await target.streamVersion('profile')).toBe(1);
      expect(await target.streamVersion(late.truncated)).toBe(0);
    } finally {
      await Promise.allSettled([source.close(), target.close()]);
    }
  });

  it('verifyCopy names a stream whose metadata differs', async () => {
    const source = await open('memory');
    const target = await open('memory');
    try {
      const life = await writeLifecycleSample(source.store);
      await copyStore(source.store, target.store);
      await target.store.setStreamMetadata(life.described, { custom: { tier: 'silver' } });
      const v = await verifyCopy(source.store, target.store);
      expect(v.ok).toBe(false);
      expect(v.mismatches.map((m) => m.streamId)).toEqual([life.described]);
    } finally {
      await Promise.allSettled([source.close(), target.close()]);
    }
  });

  it('verifyCopy names a stream whose events differ, and one that only the target holds', async () => {
    const source = await open('memory');
    const target = await open('pglite');
    try {
      await writeSample(source.store);
      await copyStore(source.store, target.store);
      const [first] = await readAll(source.store);
      await target.store.append(first!.streamId, [{ type: 'Extra', data: {} }]);
      await target.store.append('only-in-target', [{ type: 'Extra', data: {} }]);
      const v = await verifyCopy(source.store, target.store);
      expect(v.ok).toBe(false);
      expect(v.mismatches.map((m) => m.streamId).sort()).toEqual([first!.streamId, 'only-in-target'].sort());
      expect(v).toMatchObject({ sourceEvents: 9, targetEvents: 11 });
    } finally {
      await Promise.allSettled([source.close(), target.close()]);
    }
  });

  it('refuses a target stream that holds other events than the source at the same versions', async () => {
    const source = await open('memory');
    const target = await open('memory');
    try {
      await source.store.append('s', [{ type: 'A', data: 1 }]);
      await target.store.append('s', [{ type: 'B', data: 2 }]);
      await expect(copyStore(source.store, target.store)).rejects.toMatchObject({
        code: 'WRONG_EXPECTED_VERSION',
      });
    } finally {
      await Promise.allSettled([source.close(), target.close()]);
    }
  });
});
