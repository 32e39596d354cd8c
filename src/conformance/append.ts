import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type ConformanceTarget, collect, event, events, readStream, streamId, useStore } from './support.js';

export function appendTests(target: ConformanceTarget): void {
  describe('append', () => {
    const h = useStore(target);

    it('numbers the first event 1 and the next ones without gaps', async () => {
      const id = streamId();
      const r1 = await h.store.append(id, events(3));
      expect(r1.nextExpectedVersion).toBe(3);
      const r2 = await h.store.append(id, events(2, 4));
      expect(r2.nextExpectedVersion).toBe(5);
      const read = await readStream(h.store, id);
      expect(read.map((e) => e.version)).toEqual([1, 2, 3, 4, 5]);
      expect(read.map((e) => e.data)).toEqual([1, 2, 3, 4, 5].map((i) => ({ i })));
      expect(await h.store.streamVersion(id)).toBe(5);
    });

    it('reports a stream with no events as version 0', async () => {
      expect(await h.store.streamVersion(streamId())).toBe(0);
    });

    it('returns the position of the batch last event as lastPosition', async () => {
      const id = streamId();
      const r = await h.store.append(id, events(4));
      const read = await readStream(h.store, id);
      expect(typeof r.lastPosition).toBe('bigint');
      expect(r.lastPosition).toBe(read[3]!.position);
    });

    it('stores type, data, metadata and id exactly, with metadata {} when absent', async () => {
      const id = streamId();
      const supplied = randomUUID();
      const data = {
        text: 'quotes " and \\ backslashes, NUL \u0000, tab \t, unicode ü 日本 🎉',
        nested: { list: [1, -2.5, 1e21, 0.1, null, true, false, ''], empty: {}, emptyList: [] },
        big: Number.MAX_SAFE_INTEGER,
      };
      await h.store.append(id, [
        { type: 'WithMeta', data, metadata: { correlationId: 'c-1', n: 2, deep: { a: [1] } }, id: supplied },
        { type: 'NoMeta', data: null },
        { type: 'Scalar', data: 'just a string' },
        { type: 'Number', data: 42 },
        { type: 'List', data: [1, 'two', { three: 3 }] },
      ]);
      const [a, b, c, d, e] = await readStream(h.store, id);
      expect(a).toMatchObject({ id: supplied, streamId: id, type: 'WithMeta', data, version: 1 });
      expect(a!.metadata).toEqual({ correlationId: 'c-1', n: 2, deep: { a: [1] } });
      expect(b).toMatchObject({ type: 'NoMeta', data: null, metadata: {} });
      expect(c!.data).toBe('just a string');
      expect(d!.data).toBe(42);
      expect(e!.data).toEqual([1, 'two', { three: 3 }]);
    });

    it('generates a UUID for an event without id, and lower-cases a supplied one', async () => {
      const id = streamId();
      const upper = randomUUID().toUpperCase();
      await h.store.append(id, [event('A'), { type: 'B', data: {}, id: upper }]);
      const [a, b] = await readStream(h.store, id);
      expect(a!.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(b!.id).toBe(upper.toLowerCase());
    });

    it('records createdAt as a Date close to now', async () => {
      const id = streamId();
      const before = Date.now();
      await h.store.append(id, [event()]);
      const [e] = await readStream(h.store, id);
      expect(e!.createdAt).toBeInstanceOf(Date);
      // Server clocks may differ from the test's by a little.
      expect(Math.abs(e!.createdAt.getTime() - before)).toBeLessThan(60_000);
    });

    it('keeps stored events safe from later mutation of the appended objects', async () => {
      const id = streamId();
      const data = { list: [1, 2] };
      const metadata = { tag: 'original' };
      await h.store.append(id, [{ type: 'A', data, metadata }]);
      data.list.push(3);
      metadata.tag = 'mutated';
      const [e] = await readStream(h.store, id);
      expect(e!.data).toEqual({ list: [1, 2] });
      expect(e!.metadata).toEqual({ tag: 'original' });
    });

    it("defaults to expectedVersion 'any'", async () => {
      const id = streamId();
      await h.store.append(id, events(1));
      const r = await h.store.append(id, events(1, 2));
      expect(r.nextExpectedVersion).toBe(2);
    });

    it("'no_stream' and 0 succeed on a new stream and fail once it has events", async () => {
      for (const expectedVersion of ['no_stream', 0] as const) {
        const id = streamId();
        await expect(h.store.append(id, events(2), { expectedVersion })).resolves.toMatchObject({
          nextExpectedVersion: 2,
        });
        await expect(h.store.append(id, events(1), { expectedVersion })).rejects.toMatchObject({
          code: 'WRONG_EXPECTED_VERSION',
          streamId: id,
          expectedVersion,
          actualVersion: 2,
        });
        expect(await h.store.streamVersion(id)).toBe(2);
      }
    });

    it("'stream_exists' fails on a stream with no events and succeeds on one with events", async () => {
      const id = streamId();
      await expect(h.store.append(id, events(1), { expectedVersion: 'stream_exists' })).rejects.toMatchObject(
        {
          code: 'WRONG_EXPECTED_VERSION',
          streamId: id,
          expectedVersion: 'stream_exists',
          actualVersion: 0,
        },
      );
      expect(await h.store.streamVersion(id)).toBe(0);
      await h.store.append(id, events(1));
      await expect(
        h.store.append(id, events(1, 2), { expectedVersion: 'stream_exists' }),
      ).resolves.toMatchObject({
        nextExpectedVersion: 2,
      });
    });

    it('an exact expected version succeeds at the current version and fails otherwise', async () => {
      const id = streamId();
      await h.store.append(id, events(3));
      await expect(h.store.append(id, events(1, 4), { expectedVersion: 3 })).resolves.toMatchObject({
        nextExpectedVersion: 4,
      });
      for (const stale of [1, 3, 7]) {
        await expect(h.store.append(id, events(1), { expectedVersion: stale })).rejects.toMatchObject({
          code: 'WRONG_EXPECTED_VERSION',
          streamId: id,
          expectedVersion: stale,
          actualVersion: 4,
        });
      }
      await expect(h.store.append(streamId(), events(1), { expectedVersion: 1 })).rejects.toMatchObject({
        code: 'WRONG_EXPECTED_VERSION',
        actualVersion: 0,
      });
      expect(await h.store.streamVersion(id)).toBe(4);
    });

    it('gives later appends higher positions, across streams too', async () => {
      const a = streamId();
      const b = streamId();
      const r1 = await h.store.append(a, events(2));
      const r2 = await h.store.append(b, events(2));
      const r3 = await h.store.append(a, events(1));
      expect(r2.lastPosition!).toBeGreaterThan(r1.lastPosition!);
      expect(r3.lastPosition!).toBeGreaterThan(r2.lastPosition!);
      const positions = (await readStream(h.store, a)).map((e) => e.position);
      expect(positions[0]!).toBeGreaterThan(0n);
      expect(positions[1]!).toBeGreaterThan(positions[0]!);
      expect(positions[2]!).toBeGreaterThan(r2.lastPosition!);
    });

    it('appends a batch of many events atomically at consecutive versions', async () => {
      const n = Math.min(500, h.store.capabilities.maxEventsPerAppend);
      const id = streamId();
      const r = await h.store.append(id, events(n), { expectedVersion: 'no_stream' });
      expect(r.nextExpectedVersion).toBe(n);
      const read = await readStream(h.store, id);
      expect(read.map((e) => e.version)).toEqual(Array.from({ length: n }, (_, k) => k + 1));
    });

    it('accepts an event of exactly maxEventBytes, measured as UTF-8 of type + data JSON + metadata JSON', async () => {
      const { maxEventBytes } = h.store.capabilities;
      const size = Math.min(maxEventBytes, 4 * 1024 * 1024);
      const id = streamId();
      const type = 'Sized';
      // data is a JSON string: 2 quote characters around the payload; metadata is "{}".
      const payload = 'x'.repeat(size - type.length - 2 - 2);
      await h.store.append(id, [{ type, data: payload }]);
      const [e] = await readStream(h.store, id);
      expect((e!.data as string).length).toBe(payload.length);
      expect(e!.data).toBe(payload);
    });

    it('accepts long and unusual event types, and filters on them exactly', async () => {
      const id = streamId();
      const types = [`Long${'x'.repeat(1000)}`, 'with space/and#hash', 'ünïcödé-日本-🎉', 'a.b:c$d'];
      await h.store.append(
        id,
        types.map((type) => ({ type, data: { type } })),
      );
      const read = await readStream(h.store, id);
      expect(read.map((e) => e.type)).toEqual(types);
      for (const type of types) {
        const found = await collect(h.store.readAll({ filter: { eventTypes: [type], streamPrefix: id } }));
        expect(found.map((e) => e.type)).toEqual([type]);
      }
    });

    it('accepts unusual but valid stream ids and keeps them apart', async () => {
      const base = randomUUID();
      const ids = [
        `${base} with spaces`,
        `${base}#hash/slash?q=1&x%20`,
        `${base}-ünïcödé-日本-🎉`,
        `${base}'quote"double\\back`,
        `${base}${'x'.repeat(255 - base.length)}`,
      ];
      for (const [k, id] of ids.entries()) await h.store.append(id, events(k + 1));
      for (const [k, id] of ids.entries()) {
        const read = await readStream(h.store, id);
        expect(read).toHaveLength(k + 1);
        expect(read.every((e) => e.streamId === id)).toBe(true);
        expect(await h.store.streamVersion(id)).toBe(k + 1);
      }
    });
  });
}
