import { randomUUID } from 'node:crypto';
import { describe, expect, it, type TestContext } from 'vitest';
import type { EventStore, NewEvent } from '../index.js';
import {
  type ConformanceTarget,
  collect,
  readPrefix,
  readStream,
  skipUnlessCapable,
  streamId,
  uniquePrefix,
  useStore,
} from './support.js';

/** An event as an import carries it: its own id and recorded time. */
function recorded(i: number, createdAt: Date, metadata = {}): NewEvent {
  return { id: randomUUID(), type: 'Imported', data: { i }, metadata, createdAt };
}

/** Skips the test, visibly, on an adapter that does not keep imported events' `createdAt`. */
export function needsImport(ctx: TestContext, store: EventStore): void {
  skipUnlessCapable(ctx, store.capabilities.preserveCreatedAt === true, 'preserveCreatedAt');
}

/** Skips the test, visibly, on an adapter that cannot start an imported stream past version 1. */
export function needsImportFirstVersion(ctx: TestContext, store: EventStore): void {
  skipUnlessCapable(ctx, store.capabilities.importFirstVersion === true, 'importFirstVersion');
}

export function importTests(target: ConformanceTarget): void {
  describe('import (preserveCreatedAt)', () => {
    const h = useStore(target);

    it('keeps each event createdAt to the millisecond, on readStream and readAll, metadata untouched', async (ctx) => {
      needsImport(ctx, h.store);
      const prefix = uniquePrefix();
      const id = `${prefix}${streamId()}`;
      const times = [
        new Date('2019-03-04T05:06:07.891Z'),
        new Date('2001-01-01T00:00:00.001Z'),
        new Date('9999-12-31T23:59:59.999Z'),
        new Date('0001-01-01T00:00:00.000Z'),
      ];
      const batch = times.map((t, i) =>
        recorded(i, t, i === 0 ? { correlationId: 'c', createdAt: 'user' } : {}),
      );
      const r = await h.store.append(id, batch, { expectedVersion: 'no_stream', preserveCreatedAt: true });
      expect(r.nextExpectedVersion).toBe(4);
      for (const read of [await readStream(h.store, id), await readPrefix(h.store, prefix)]) {
        expect(read.map((e) => e.createdAt.toISOString())).toEqual(times.map((t) => t.toISOString()));
        expect(read.map((e) => e.id)).toEqual(batch.map((e) => e.id));
        expect(read.map((e) => e.metadata)).toEqual([{ correlationId: 'c', createdAt: 'user' }, {}, {}, {}]);
      }
    });

    it('stamps an ordinary append with the store clock, beside imported events of the same stream', async (ctx) => {
      needsImport(ctx, h.store);
      const id = streamId();
      const old = new Date('2010-06-01T12:00:00.000Z');
      await h.store.append(id, [recorded(1, old)], { preserveCreatedAt: true });
      const before = Date.now();
      await h.store.append(id, [{ type: 'Live', data: {} }], { expectedVersion: 1 });
      const [first, second] = await readStream(h.store, id);
      expect(first!.createdAt.getTime()).toBe(old.getTime());
      // Clocks of a server and of this process may differ a little; an hour apart is a clear difference.
      expect(Math.abs(second!.createdAt.getTime() - before)).toBeLessThan(3_600_000);
    });

    it('recognises a retried import by its event ids and keeps the first createdAt', async (ctx) => {
      needsImport(ctx, h.store);
      const id = streamId();
      const batch = [
        recorded(1, new Date('2020-01-01T00:00:00.000Z')),
        recorded(2, new Date('2020-01-02T00:00:00.000Z')),
      ];
      const first = await h.store.append(id, batch, { expectedVersion: 0, preserveCreatedAt: true });
      const later = batch.map((e) => ({ ...e, createdAt: new Date('2021-01-01T00:00:00.000Z') }));
      const retry = await h.store.append(id, later, { expectedVersion: 0, preserveCreatedAt: true });
      expect(retry).toEqual(first);
      const read = await readStream(h.store, id);
      expect(read.map((e) => e.createdAt.toISOString())).toEqual([
        '2020-01-01T00:00:00.000Z',
        '2020-01-02T00:00:00.000Z',
      ]);
    });

    it('refuses a createdAt without preserveCreatedAt, and a missing or bad one with it, writing nothing', async () => {
      const id = streamId();
      const ok = recorded(0, new Date('2020-01-01T00:00:00.000Z'));
      const bad: Array<[unknown[], object | undefined, string]> = [
        [[ok], undefined, 'events[0].createdAt'],
        [[ok], { preserveCreatedAt: false }, 'events[0].createdAt'],
        [[ok, { type: 'NoTime', data: 1 }], { preserveCreatedAt: true }, 'events[1].createdAt'],
        [[{ ...ok, createdAt: '2020-01-01T00:00:00Z' }], { preserveCreatedAt: true }, 'events[0].createdAt'],
        [[{ ...ok, createdAt: 1577836800000 }], { preserveCreatedAt: true }, 'events[0].createdAt'],
        [[{ ...ok, createdAt: new Date('not a date') }], { preserveCreatedAt: true }, 'events[0].createdAt'],
        [
          [{ ...ok, createdAt: new Date('+010000-01-01T00:00:00Z') }],
          { preserveCreatedAt: true },
          'events[0].createdAt',
        ],
        [
          [{ ...ok, createdAt: new Date('-000001-01-01T00:00:00Z') }],
          { preserveCreatedAt: true },
          'events[0].createdAt',
        ],
        [[ok], { preserveCreatedAt: 'yes' }, 'options.preserveCreatedAt'],
      ];
      for (const [events, options, argument] of bad) {
        await expect(h.store.append(id, events as NewEvent[], options as never)).rejects.toMatchObject({
          code: 'INVALID_ARGUMENT',
          argument,
        });
      }
      expect(await h.store.streamVersion(id)).toBe(0);
      expect(await readStream(h.store, id)).toEqual([]);
    });

    it('is NOT_SUPPORTED, writing nothing, on an adapter that does not declare preserveCreatedAt', async (ctx) => {
      skipUnlessCapable(
        ctx,
        h.store.capabilities.preserveCreatedAt !== true,
        'an adapter without preserveCreatedAt',
      );
      const id = streamId();
      const event = recorded(0, new Date('2020-01-01T00:00:00.000Z'));
      await expect(h.store.append(id, [event], { preserveCreatedAt: true })).rejects.toMatchObject({
        code: 'NOT_SUPPORTED',
        capability: 'preserveCreatedAt',
      });
      expect(await h.store.streamVersion(id)).toBe(0);
    });

    it('starts a stream at firstVersion: its version, reads from there in position order, truncateBefore, then appends', async (ctx) => {
      needsImportFirstVersion(ctx, h.store);
      const prefix = uniquePrefix();
      const id = `${prefix}a`;
      const other = `${prefix}b`;
      const t = new Date('2018-05-06T07:08:09.123Z');
      const first = [recorded(1, t), recorded(2, t)];
      const r = await h.store.append(id, first, { firstVersion: 41, preserveCreatedAt: true });
      expect(r.nextExpectedVersion).toBe(42);
      await h.store.append(other, [recorded(3, t)], { preserveCreatedAt: true });
      const more = await h.store.append(id, [recorded(4, t)], {
        firstVersion: 43,
        expectedVersion: 42,
        preserveCreatedAt: true,
      });
      expect(more.nextExpectedVersion).toBe(43);
      const live = await h.store.append(id, [{ type: 'Live', data: {} }], { expectedVersion: 43 });
      expect(live.nextExpectedVersion).toBe(44);
      expect(await h.store.streamVersion(id)).toBe(44);
      const stream = await readStream(h.store, id);
      expect(stream.map((e) => e.version)).toEqual([41, 42, 43, 44]);
      expect(stream.slice(0, 2).map((e) => e.id)).toEqual(first.map((e) => e.id));
      expect(stream[0]!.createdAt.toISOString()).toBe(t.toISOString());
      const backwards = await collect(h.store.readStream(id, { direction: 'backwards', maxCount: 2 }));
      expect(backwards.map((e) => e.version)).toEqual([44, 43]);
      expect(await collect(h.store.readStream(id, { fromVersion: 1, maxCount: 1 }))).toMatchObject([
        { version: 41 },
      ]);
      const all = await readPrefix(h.store, prefix);
      expect(all.map((e) => [e.streamId, e.version])).toEqual([
        [id, 41],
        [id, 42],
        [other, 1],
        [id, 43],
        [id, 44],
      ]);
      for (let i = 1; i < all.length; i++) expect(all[i]!.position > all[i - 1]!.position).toBe(true);
      if (h.store.capabilities.lifecycle === true) {
        expect((await h.store.getStreamMetadata(id)).metadata).toEqual({ truncateBefore: 41 });
      }
    });

    it('recognises a retried firstVersion import by its ids, and refuses another stream state, writing nothing', async (ctx) => {
      needsImportFirstVersion(ctx, h.store);
      const id = streamId();
      const t = new Date('2020-02-02T00:00:00.000Z');
      const batch = [recorded(1, t), recorded(2, t), recorded(3, t)];
      const first = await h.store.append(id, batch, { firstVersion: 7, preserveCreatedAt: true });
      expect(first.nextExpectedVersion).toBe(9);
      expect(await h.store.append(id, batch, { firstVersion: 7, preserveCreatedAt: true })).toEqual(first);
      const prefix = await h.store.append(id, batch.slice(0, 2), {
        firstVersion: 7,
        preserveCreatedAt: true,
      });
      expect(prefix.nextExpectedVersion).toBe(8);
      // Other ids at the same versions, a version the stream is past or behind: the expected-version rules.
      for (const [events, firstVersion] of [
        [[recorded(4, t)], 7],
        [[recorded(5, t)], 3],
        [[recorded(6, t)], 12],
      ] as const) {
        await expect(
          h.store.append(id, [...events], { firstVersion, preserveCreatedAt: true }),
        ).rejects.toMatchObject({ code: 'WRONG_EXPECTED_VERSION', streamId: id });
      }
      const existing = streamId();
      await h.store.append(existing, [{ type: 'Live', data: {} }]);
      await expect(
        h.store.append(existing, [recorded(7, t)], { firstVersion: 5, preserveCreatedAt: true }),
      ).rejects.toMatchObject({ code: 'WRONG_EXPECTED_VERSION' });
      expect(await h.store.streamVersion(id)).toBe(9);
      expect(await h.store.streamVersion(existing)).toBe(1);
      expect((await readStream(h.store, id)).map((e) => e.id)).toEqual(batch.map((e) => e.id));
    });

    it('refuses a bad firstVersion import with INVALID_ARGUMENT, writing nothing', async () => {
      const id = streamId();
      const ok = recorded(0, new Date('2020-01-01T00:00:00.000Z'));
      const { createdAt: _, ...plain } = ok;
      const bad: Array<[unknown[], object, string]> = [
        [[plain], { firstVersion: 5 }, 'options.firstVersion'],
        [[ok], { firstVersion: 5, preserveCreatedAt: false }, 'options.firstVersion'],
        [[ok], { firstVersion: 0, preserveCreatedAt: true }, 'options.firstVersion'],
        [[ok], { firstVersion: -3, preserveCreatedAt: true }, 'options.firstVersion'],
        [[ok], { firstVersion: 2.5, preserveCreatedAt: true }, 'options.firstVersion'],
        [[ok], { firstVersion: '5', preserveCreatedAt: true }, 'options.firstVersion'],
        [[ok], { firstVersion: 2 ** 53, preserveCreatedAt: true }, 'options.firstVersion'],
        [[ok], { firstVersion: 5, expectedVersion: 0, preserveCreatedAt: true }, 'options.expectedVersion'],
        [
          [ok],
          { firstVersion: 5, expectedVersion: 'any', preserveCreatedAt: true },
          'options.expectedVersion',
        ],
        [
          [ok],
          { firstVersion: 5, expectedVersion: 'no_stream', preserveCreatedAt: true },
          'options.expectedVersion',
        ],
        [[], { firstVersion: 5, preserveCreatedAt: true }, 'events'],
      ];
      for (const [events, options, argument] of bad) {
        await expect(h.store.append(id, events as NewEvent[], options as never)).rejects.toMatchObject({
          code: 'INVALID_ARGUMENT',
          argument,
        });
      }
      expect(await h.store.streamVersion(id)).toBe(0);
      expect(await readStream(h.store, id)).toEqual([]);
    });

    it('is NOT_SUPPORTED, writing nothing, on an adapter that does not declare importFirstVersion', async (ctx) => {
      skipUnlessCapable(
        ctx,
        h.store.capabilities.importFirstVersion !== true,
        'an adapter without importFirstVersion',
      );
      const id = streamId();
      const event = recorded(0, new Date('2020-01-01T00:00:00.000Z'));
      await expect(
        h.store.append(id, [event], { firstVersion: 3, preserveCreatedAt: true }),
      ).rejects.toMatchObject({ code: 'NOT_SUPPORTED' });
      expect(await h.store.streamVersion(id)).toBe(0);
    });
  });
}
