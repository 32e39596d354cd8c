import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../index.js';
import {
  type ConformanceTarget,
  collect,
  events,
  readPrefix,
  streamId,
  uniquePrefix,
  useStore,
} from './support.js';

function expectStrictlyIncreasing(read: RecordedEvent[]): void {
  for (let k = 1; k < read.length; k++) expect(read[k]!.position).toBeGreaterThan(read[k - 1]!.position);
}

export function readAllTests(target: ConformanceTarget): void {
  describe('readAll', () => {
    const h = useStore(target);

    it('returns every event once, in strictly increasing positions, in commit order', async () => {
      const p = uniquePrefix();
      const a = `${p}a`;
      const b = `${p}b`;
      await h.store.append(a, events(2));
      await h.store.append(b, events(3));
      await h.store.append(a, events(1, 3));
      const read = await readPrefix(h.store, p);
      expect(read.map((e) => [e.streamId, e.version])).toEqual([
        [a, 1],
        [a, 2],
        [b, 1],
        [b, 2],
        [b, 3],
        [a, 3],
      ]);
      expectStrictlyIncreasing(read);
      expect(read.every((e) => e.position >= 1n)).toBe(true);
    });

    it('reports the same event, with the same position, as readStream', async () => {
      const p = uniquePrefix();
      const id = `${p}s`;
      await h.store.append(id, [{ type: 'T', data: { x: 1 }, metadata: { m: true } }, ...events(2)]);
      const fromAll = await readPrefix(h.store, p);
      const fromStream = await collect(h.store.readStream(id));
      expect(fromAll).toEqual(fromStream);
    });

    it("treats 'after' as exclusive, so resuming from the last seen position misses nothing", async () => {
      const p = uniquePrefix();
      await h.store.append(`${p}1`, events(3));
      const first = await readPrefix(h.store, p);
      const last = first.at(-1)!.position;
      expect(await readPrefix(h.store, p, last)).toEqual([]);
      await h.store.append(`${p}2`, events(2));
      const resumed = await readPrefix(h.store, p, last);
      expect(resumed.map((e) => [e.streamId, e.version])).toEqual([
        [`${p}2`, 1],
        [`${p}2`, 2],
      ]);
      const middle = await readPrefix(h.store, p, first[0]!.position);
      expect(middle.map((e) => e.id)).toEqual([...first.slice(1), ...resumed].map((e) => e.id));
    });

    it('starts at the beginning with after: 0n, and returns nothing past the end', async () => {
      const p = uniquePrefix();
      const r = await h.store.append(`${p}x`, events(2));
      expect(await readPrefix(h.store, p, 0n)).toHaveLength(2);
      expect(await readPrefix(h.store, p, r.lastPosition! + 1_000_000n)).toEqual([]);
    });

    it('returns at most maxCount events, and pages with after', async () => {
      const p = uniquePrefix();
      await h.store.append(`${p}x`, events(7));
      const all = await readPrefix(h.store, p);
      const pages: RecordedEvent[][] = [];
      let after = 0n;
      for (;;) {
        const page = await collect(h.store.readAll({ after, maxCount: 3, filter: { streamPrefix: p } }));
        if (page.length === 0) break;
        expect(page.length).toBeLessThanOrEqual(3);
        pages.push(page);
        after = page.at(-1)!.position;
      }
      expect(pages.map((pg) => pg.length)).toEqual([3, 3, 1]);
      expect(pages.flat()).toEqual(all);
      expect(await collect(h.store.readAll({ maxCount: 0, filter: { streamPrefix: p } }))).toEqual([]);
    });

    it('filters by event type', async () => {
      const p = uniquePrefix();
      await h.store.append(`${p}x`, [
        { type: 'Opened', data: 1 },
        { type: 'Noise', data: 2 },
        { type: 'Closed', data: 3 },
        { type: 'Opened', data: 4 },
      ]);
      const read = await collect(
        h.store.readAll({ filter: { streamPrefix: p, eventTypes: ['Opened', 'Closed'] } }),
      );
      expect(read.map((e) => e.data)).toEqual([1, 3, 4]);
      const one = await collect(h.store.readAll({ filter: { streamPrefix: p, eventTypes: ['Noise'] } }));
      expect(one.map((e) => e.data)).toEqual([2]);
    });

    it('filters by event type alone, across streams', async () => {
      const type = `Rare-${uniquePrefix()}`;
      const a = streamId();
      const b = streamId();
      await h.store.append(a, [{ type, data: 'a' }, ...events(2)]);
      await h.store.append(b, [...events(1), { type, data: 'b' }]);
      const read = await collect(h.store.readAll({ filter: { eventTypes: [type] } }));
      expect(read.map((e) => [e.streamId, e.data])).toEqual([
        [a, 'a'],
        [b, 'b'],
      ]);
    });

    it('filters by stream prefix, and combines maxCount with a filter', async () => {
      const p = uniquePrefix();
      await h.store.append(`${p}keep-1`, events(2));
      await h.store.append(`${p}drop-1`, events(5));
      await h.store.append(`${p}keep-2`, events(2));
      const read = await collect(h.store.readAll({ filter: { streamPrefix: `${p}keep` } }));
      expect(read.map((e) => e.streamId)).toEqual([`${p}keep-1`, `${p}keep-1`, `${p}keep-2`, `${p}keep-2`]);
      const limited = await collect(h.store.readAll({ maxCount: 3, filter: { streamPrefix: `${p}keep` } }));
      expect(limited).toEqual(read.slice(0, 3));
    });

    it('treats a stream prefix literally, not as a pattern', async () => {
      const p = uniquePrefix();
      await h.store.append(`${p}a%b_c.d*e`, events(1));
      await h.store.append(`${p}aXbYc`, events(1));
      const read = await collect(h.store.readAll({ filter: { streamPrefix: `${p}a%b_c.` } }));
      expect(read.map((e) => e.streamId)).toEqual([`${p}a%b_c.d*e`]);
    });

    it('reads more events than any internal page, in order, without repeats', async () => {
      const p = uniquePrefix();
      const batch = Math.min(h.store.capabilities.maxEventsPerAppend, 250);
      const streams = 4;
      const perStream = 500;
      for (let v = 1; v <= perStream; v += batch) {
        for (let s = 0; s < streams; s++)
          await h.store.append(`${p}${s}`, events(Math.min(batch, perStream - v + 1), v));
      }
      const read = await readPrefix(h.store, p);
      expect(read).toHaveLength(streams * perStream);
      expectStrictlyIncreasing(read);
      expect(new Set(read.map((e) => e.id)).size).toBe(streams * perStream);
      for (let s = 0; s < streams; s++) {
        const own = read.filter((e) => e.streamId === `${p}${s}`).map((e) => e.version);
        expect(own).toEqual(Array.from({ length: perStream }, (_, k) => k + 1));
      }
    });
  });
}
