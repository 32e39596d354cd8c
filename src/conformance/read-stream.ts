import { describe, expect, it } from 'vitest';
import { type ConformanceTarget, collect, events, streamId, useStore } from './support.js';

export function readStreamTests(target: ConformanceTarget): void {
  describe('readStream', () => {
    const h = useStore(target);

    async function seeded(n: number): Promise<string> {
      const id = streamId();
      await h.store.append(id, events(n));
      return id;
    }
    const versions = async (id: string, options?: Parameters<typeof h.store.readStream>[1]) =>
      (await collect(h.store.readStream(id, options))).map((e) => e.version);

    it('reads forwards from version 1 by default', async () => {
      const id = await seeded(5);
      expect(await versions(id)).toEqual([1, 2, 3, 4, 5]);
    });

    it('treats fromVersion as inclusive going forwards', async () => {
      const id = await seeded(5);
      expect(await versions(id, { fromVersion: 3 })).toEqual([3, 4, 5]);
      expect(await versions(id, { fromVersion: 5 })).toEqual([5]);
      expect(await versions(id, { fromVersion: 6 })).toEqual([]);
    });

    it('limits forwards reads with maxCount', async () => {
      const id = await seeded(5);
      expect(await versions(id, { maxCount: 2 })).toEqual([1, 2]);
      expect(await versions(id, { fromVersion: 4, maxCount: 10 })).toEqual([4, 5]);
      expect(await versions(id, { maxCount: 0 })).toEqual([]);
    });

    it('reads backwards from the last event by default', async () => {
      const id = await seeded(5);
      expect(await versions(id, { direction: 'backwards' })).toEqual([5, 4, 3, 2, 1]);
    });

    it('treats fromVersion as inclusive going backwards, and starts at the end from past it', async () => {
      const id = await seeded(5);
      expect(await versions(id, { direction: 'backwards', fromVersion: 3 })).toEqual([3, 2, 1]);
      expect(await versions(id, { direction: 'backwards', fromVersion: 1 })).toEqual([1]);
      expect(await versions(id, { direction: 'backwards', fromVersion: 99 })).toEqual([5, 4, 3, 2, 1]);
    });

    it('limits backwards reads with maxCount', async () => {
      const id = await seeded(5);
      expect(await versions(id, { direction: 'backwards', maxCount: 2 })).toEqual([5, 4]);
      expect(await versions(id, { direction: 'backwards', fromVersion: 2, maxCount: 5 })).toEqual([2, 1]);
    });

    it('yields nothing for a stream with no events, in both directions', async () => {
      const id = streamId();
      expect(await versions(id)).toEqual([]);
      expect(await versions(id, { direction: 'backwards' })).toEqual([]);
    });

    it('reads only the named stream, even when another id starts with it', async () => {
      const id = await seeded(2);
      await h.store.append(`${id}-other`, events(3));
      await h.store.append(`${id}0`, events(1));
      const read = await collect(h.store.readStream(id));
      expect(read.map((e) => e.streamId)).toEqual([id, id]);
    });

    it('returns positions in version order, matching readAll', async () => {
      const id = await seeded(3);
      const other = streamId();
      await h.store.append(other, events(2));
      await h.store.append(id, events(2, 4));
      const read = await collect(h.store.readStream(id));
      const positions = read.map((e) => e.position);
      expect([...positions].sort((a, b) => (a < b ? -1 : 1))).toEqual(positions);
      expect(new Set(positions).size).toBe(5);
      const back = await collect(h.store.readStream(id, { direction: 'backwards' }));
      expect(back.map((e) => e.position)).toEqual([...positions].reverse());
      expect(back.map((e) => e.id)).toEqual(read.map((e) => e.id).reverse());
    });

    it('reads a stream longer than any internal page completely and in order', async () => {
      const n = 1200;
      const id = streamId();
      const batch = Math.min(h.store.capabilities.maxEventsPerAppend, 400);
      for (let v = 1; v <= n; v += batch) await h.store.append(id, events(Math.min(batch, n - v + 1), v));
      const forwards = await collect(h.store.readStream(id));
      expect(forwards.map((e) => e.version)).toEqual(Array.from({ length: n }, (_, k) => k + 1));
      expect(forwards.map((e) => (e.data as { i: number }).i)).toEqual(
        Array.from({ length: n }, (_, k) => k + 1),
      );
      const backwards = await collect(h.store.readStream(id, { direction: 'backwards', fromVersion: 1000 }));
      expect(backwards.map((e) => e.version)).toEqual(Array.from({ length: 1000 }, (_, k) => 1000 - k));
    });

    it('can stop early without reading the rest', async () => {
      const id = await seeded(10);
      const seen: number[] = [];
      for await (const e of h.store.readStream(id)) {
        seen.push(e.version);
        if (e.version === 3) break;
      }
      expect(seen).toEqual([1, 2, 3]);
      // The store is still usable after an abandoned iteration.
      await expect(h.store.append(id, events(1), { expectedVersion: 10 })).resolves.toMatchObject({
        nextExpectedVersion: 11,
      });
    });
  });
}
