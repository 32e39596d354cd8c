import { describe, expect, it } from 'vitest';
import {
  type EventStore,
  type JsonObject,
  MAX_EVENT_TYPE_BYTES,
  MAX_JSON_DEPTH,
  MAX_POSITION_INT64,
} from '../index.js';
import {
  type ConformanceTarget,
  collect,
  events,
  readStream,
  skipUnlessCapable,
  streamId,
  useStore,
} from './support.js';

type Loose = Parameters<EventStore['append']>;

const cyclic: Record<string, unknown> = { a: 1 };
cyclic.self = cyclic;
const sparse: unknown[] = [1];
sparse[2] = 3; // index 1 is a hole
class Money {
  constructor(readonly cents: number) {}
}

/** `levels` arrays nested inside one another around `1`. */
function nested(levels: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < levels; i++) value = [value];
  return value;
}

/** A Proxy whose every trap throws TypeError, as a revoked one does. */
function revokedProxy(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

/** A plain-looking object whose `key` getter throws `error`. */
function throwingGetter(key: string, error: Error, rest: Record<string, unknown> = {}): object {
  return Object.defineProperty({ ...rest }, key, {
    enumerable: true,
    get() {
      throw error;
    },
  });
}

/** Values JSON would not return unchanged. */
const badData: Array<[string, unknown]> = [
  ['undefined', undefined],
  ['a function', () => 1],
  ['a symbol', Symbol('s')],
  ['a BigInt', 10n],
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['a cycle', cyclic],
  ['a nested undefined', { a: { b: undefined } }],
  ['a nested function', { a: [1, () => 2] }],
  ['a nested BigInt', { a: [1n] }],
  ['a Date', new Date()],
  ['a Map', new Map([[1, 2]])],
  ['a class instance', new Money(5)],
  ['a sparse array', sparse],
  ['a lone surrogate', 'bad \ud800 string'],
  ['a lone low surrogate in an array', ['ok', '\udc00']],
  ['a key with a lone surrogate', { ['key\ud800']: 1 }],
  ['nesting 10,000 deep', nested(10_000)],
  ['nesting one level past the limit', nested(MAX_JSON_DEPTH + 1)],
  ['a revoked Proxy', revokedProxy()],
];

export function badInputTests(target: ConformanceTarget): void {
  describe('bad input', () => {
    const h = useStore(target);
    const append = (...args: unknown[]) => h.store.append(...(args as Loose));

    /** Appends `bad` to a stream with one event, expects `code`, and checks nothing changed and the store works. */
    async function rejectsAndKeepsStream(bad: unknown[], code = 'INVALID_ARGUMENT'): Promise<void> {
      const id = streamId();
      await h.store.append(id, events(1));
      const before = await readStream(h.store, id);
      await expect(append(id, ...bad)).rejects.toMatchObject({ code });
      expect(await readStream(h.store, id)).toEqual(before);
      await expect(h.store.append(id, events(1, 2), { expectedVersion: 1 })).resolves.toMatchObject({
        nextExpectedVersion: 2,
      });
    }

    it('rejects stream ids that are not non-empty strings of at most 255 characters without control characters', async () => {
      const bad = [
        '',
        'x'.repeat(256),
        'line\nbreak',
        'nul\u0000',
        'tab\there',
        'del\u007f',
        42,
        null,
        undefined,
        {},
        ['a'],
      ];
      for (const id of bad) {
        await expect(append(id, events(1))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
        await expect(h.store.streamVersion(id as string)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
        await expect(collect(h.store.readStream(id as string))).rejects.toMatchObject({
          code: 'INVALID_ARGUMENT',
        });
      }
    });

    it('rejects events that are not an array of plain objects, and writes none of the batch', async () => {
      for (const bad of [null, undefined, 'events', 42, { type: 'A', data: 1 }])
        await rejectsAndKeepsStream([bad]);
      for (const bad of [null, 'event', 42, [{ type: 'A', data: 1 }]]) {
        await rejectsAndKeepsStream([[...events(2), bad]]);
      }
    });

    it('rejects a type that is empty or not a string', async () => {
      for (const type of ['', 42, null, undefined, { name: 'A' }]) {
        await rejectsAndKeepsStream([[...events(1), { type, data: {} }]]);
      }
    });

    it('rejects an event without data, or with an unknown field', async () => {
      await rejectsAndKeepsStream([[{ type: 'A' }]]);
      await rejectsAndKeepsStream([[{ type: 'A', data: 1, payload: 2 }]]);
    });

    it('rejects data that would not survive JSON unchanged', async () => {
      for (const [, value] of badData) {
        await rejectsAndKeepsStream([[...events(1), { type: 'A', data: value }]]);
      }
    });

    it('rejects metadata that is not a plain JSON object', async () => {
      const bad: unknown[] = [
        null,
        'meta',
        42,
        [1, 2],
        new Date(),
        ...badData.map(([, v]) => ({ nested: v })),
      ];
      for (const metadata of bad) await rejectsAndKeepsStream([[{ type: 'A', data: 1, metadata }]]);
    });

    it('rejects an id that is not a UUID', async () => {
      for (const id of [
        'not-a-uuid',
        '',
        42,
        '123e4567-e89b-12d3-a456-42661417400',
        `{${crypto.randomUUID()}}`,
      ]) {
        await rejectsAndKeepsStream([[{ type: 'A', data: 1, id }]]);
      }
    });

    it('rejects an expectedVersion that is negative, fractional or unknown, and unknown options', async () => {
      for (const expectedVersion of [-1, 1.5, Number.NaN, 'latest', '1', null, true, 2n]) {
        await rejectsAndKeepsStream([events(1), { expectedVersion }]);
      }
      await rejectsAndKeepsStream([events(1), { expectedVersoin: 1 }]);
      await rejectsAndKeepsStream([events(1), 'any']);
    });

    it('rejects readStream options of the wrong type or range', async () => {
      const id = streamId();
      await h.store.append(id, events(2));
      const bad: unknown[] = [
        { fromVersion: -1 },
        { fromVersion: 1.5 },
        { fromVersion: '1' },
        { direction: 'sideways' },
        { maxCount: -1 },
        { maxCount: 2.5 },
        { maxCount: '10' },
        { limit: 10 },
        'forwards',
      ];
      for (const options of bad) {
        await expect(collect(h.store.readStream(id, options as never))).rejects.toMatchObject({
          code: 'INVALID_ARGUMENT',
        });
      }
      expect(await readStream(h.store, id)).toHaveLength(2);
    });

    it('rejects readAll options of the wrong type or range', async () => {
      const bad: unknown[] = [
        { after: -1n },
        { after: 5 },
        { after: '5' },
        { maxCount: -1 },
        { maxCount: 0.5 },
        { filter: { eventTypes: 'A' } },
        { filter: { eventTypes: [1] } },
        { filter: { eventTypes: [''] } },
        { filter: { streamPrefix: 42 } },
        { filter: { streamType: 'x' } },
        { filter: 'A' },
        { from: 0n },
      ];
      for (const options of bad) {
        await expect(collect(h.store.readAll(options as never))).rejects.toMatchObject({
          code: 'INVALID_ARGUMENT',
        });
      }
    });

    it('refuses JSON nested deeper than MAX_JSON_DEPTH, and stores exactly that depth', async () => {
      // nested(n) is n arrays around 1; inside `{ v }` the object is level 1, so n = MAX_JSON_DEPTH - 1 is the limit.
      const deepest = { v: nested(MAX_JSON_DEPTH - 1) } as JsonObject;
      const id = streamId();
      await h.store.append(id, [{ type: 'Deep', data: deepest, metadata: deepest }]);
      const [e] = await readStream(h.store, id);
      expect(e!.data).toEqual(deepest);
      expect(e!.metadata).toEqual(deepest);
      for (const data of [{ v: nested(MAX_JSON_DEPTH) }, nested(10_000)]) {
        await rejectsAndKeepsStream([[{ type: 'Deep', data }]]);
        await rejectsAndKeepsStream([[{ type: 'Deep', data: 1, metadata: { data } }]]);
      }
    });

    it('refuses NUL and lone surrogates in stream ids, event types and readAll filters', async () => {
      for (const id of ['lone\ud800', 'low\udc00', 'nul\u0000']) {
        await expect(append(id, events(1))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
        await expect(h.store.streamVersion(id)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
        await expect(collect(h.store.readStream(id))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      }
      for (const type of ['T\ud800', '\udc00T', 'T\u0000', 'T\u0000x']) {
        await rejectsAndKeepsStream([[...events(1), { type, data: {} }]]);
      }
      const bad: unknown[] = [
        { filter: { eventTypes: ['A\u0000'] } },
        { filter: { eventTypes: ['A', 'T\ud800'] } },
        { filter: { streamPrefix: 'p\u0000' } },
        { filter: { streamPrefix: 'p\udbff' } },
      ];
      for (const options of bad) {
        await expect(collect(h.store.readAll(options as never))).rejects.toMatchObject({
          code: 'INVALID_ARGUMENT',
        });
      }
    });

    it('refuses an event type longer than maxEventTypeBytes, and stores the longest that fits an event', async () => {
      const { maxEventTypeBytes = MAX_EVENT_TYPE_BYTES, maxEventBytes } = h.store.capabilities;
      // The longest type an event can hold: data `0` and metadata `{}` take 3 bytes of maxEventBytes.
      const fits = Math.min(maxEventTypeBytes, maxEventBytes - 3);
      // Two UTF-8 bytes per character: the limit counts bytes, not characters.
      const longest = `${'x'.repeat(fits % 2)}${'é'.repeat(Math.floor(fits / 2))}`;
      expect(Buffer.byteLength(longest)).toBe(fits);
      const id = streamId();
      await h.store.append(id, [{ type: longest, data: 0 }]);
      expect((await readStream(h.store, id)).map((e) => e.type)).toEqual([longest]);
      const found = await collect(h.store.readAll({ filter: { eventTypes: [longest], streamPrefix: id } }));
      expect(found.map((e) => e.type)).toEqual([longest]);
      await rejectsAndKeepsStream([[{ type: 'x'.repeat(maxEventTypeBytes + 1), data: 0 }]]);
    });

    it('refuses readAll positions outside 0..capabilities.maxPosition, and accepts the largest', async () => {
      const { maxPosition = MAX_POSITION_INT64 } = h.store.capabilities;
      for (const after of [maxPosition + 1n, 2n ** 128n, -1n, -(2n ** 63n)]) {
        await expect(collect(h.store.readAll({ after }))).rejects.toMatchObject({
          code: 'INVALID_ARGUMENT',
          argument: 'options.after',
        });
      }
      await expect(collect(h.store.readAll({ after: maxPosition }))).resolves.toEqual([]);
    });

    it('turns a throwing getter or a revoked Proxy anywhere in the arguments into INVALID_ARGUMENT with the error as cause', async () => {
      const mine = new Error('the caller’s own error');
      const cases: unknown[][] = [
        [revokedProxy()],
        [[revokedProxy()]],
        [[...events(1), revokedProxy()]],
        [[throwingGetter('type', mine, { data: 1 })]],
        [[throwingGetter('data', mine, { type: 'A' })]],
        [[throwingGetter('metadata', mine, { type: 'A', data: 1 })]],
        [[{ type: 'A', data: revokedProxy() }]],
        [[{ type: 'A', data: { nested: [revokedProxy()] } }]],
        [[{ type: 'A', data: 1, metadata: revokedProxy() }]],
        [events(1), revokedProxy()],
        [events(1), throwingGetter('expectedVersion', mine)],
      ];
      for (const args of cases) await rejectsAndKeepsStream(args);
      const err = await append(streamId(), [throwingGetter('type', mine, { data: 1 })]).catch(
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', argument: 'events[0].type' });
      expect((err as Error).cause).toBe(mine);
      const revoked = await append(streamId(), [revokedProxy()]).catch((e: unknown) => e);
      expect(revoked).toMatchObject({ code: 'INVALID_ARGUMENT', argument: 'events[0]' });
      expect((revoked as Error).cause).toBeInstanceOf(TypeError);

      const id = streamId();
      await h.store.append(id, events(1));
      for (const options of [revokedProxy(), throwingGetter('maxCount', mine)]) {
        await expect(collect(h.store.readStream(id, options as never))).rejects.toMatchObject({
          code: 'INVALID_ARGUMENT',
        });
      }
      for (const options of [
        revokedProxy(),
        throwingGetter('after', mine),
        { filter: revokedProxy() },
        { filter: throwingGetter('eventTypes', mine) },
        { filter: { eventTypes: revokedProxy() } },
      ]) {
        const e = await collect(h.store.readAll(options as never)).catch((x: unknown) => x);
        expect(e).toMatchObject({ code: 'INVALID_ARGUMENT' });
        expect((e as Error).cause).toBeDefined();
      }
      expect(await readStream(h.store, id)).toHaveLength(1);
    });

    it('rejects an event over maxEventBytes with EVENT_TOO_LARGE, writing none of the batch', async () => {
      const { maxEventBytes } = h.store.capabilities;
      const big = { type: 'Big', data: 'x'.repeat(maxEventBytes) };
      await rejectsAndKeepsStream([[...events(1), big]], 'EVENT_TOO_LARGE');
      // Multi-byte characters count as their UTF-8 bytes, not as UTF-16 units.
      const wide = { type: 'Wide', data: 'é'.repeat(Math.ceil(maxEventBytes / 2)) };
      await rejectsAndKeepsStream([[wide]], 'EVENT_TOO_LARGE');
    });

    it('rejects more events than maxEventsPerAppend with APPEND_TOO_LARGE, writing nothing', async (ctx) => {
      const { maxEventsPerAppend } = h.store.capabilities;
      skipUnlessCapable(ctx, Number.isFinite(maxEventsPerAppend), 'maxEventsPerAppend is unbounded');
      await rejectsAndKeepsStream([events(maxEventsPerAppend + 1)], 'APPEND_TOO_LARGE');
      const id = streamId();
      await expect(h.store.append(id, events(maxEventsPerAppend))).resolves.toMatchObject({
        nextExpectedVersion: maxEventsPerAppend,
      });
    });

    it('rejects a batch over maxAppendBytes with APPEND_TOO_LARGE, writing nothing', async (ctx) => {
      const { maxAppendBytes, maxEventBytes, maxEventsPerAppend } = h.store.capabilities;
      const per = Math.floor(maxEventBytes / 2);
      const needed = Math.ceil((maxAppendBytes + 1) / per) + 1;
      skipUnlessCapable(
        ctx,
        Number.isFinite(maxAppendBytes) && maxAppendBytes <= 64 * 1024 * 1024 && needed <= maxEventsPerAppend,
        'maxAppendBytes is unbounded or cannot be reached within maxEventsPerAppend',
      );
      const batch = Array.from({ length: needed }, () => ({ type: 'Half', data: 'y'.repeat(per - 16) }));
      await rejectsAndKeepsStream([batch], 'APPEND_TOO_LARGE');
    });

    it('fails with STORE_CLOSED after close, and close is idempotent', async () => {
      const store = await target.create();
      const id = streamId();
      await store.append(id, events(1));
      await store.close();
      await store.close();
      await expect(store.append(id, events(1))).rejects.toMatchObject({ code: 'STORE_CLOSED' });
      await expect(store.streamVersion(id)).rejects.toMatchObject({ code: 'STORE_CLOSED' });
      await expect(collect(store.readStream(id))).rejects.toMatchObject({ code: 'STORE_CLOSED' });
      await expect(collect(store.readAll())).rejects.toMatchObject({ code: 'STORE_CLOSED' });
    });
  });
}
