import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  assertJson,
  decideAppend,
  prepareAppend,
  prepareReadAll,
  prepareReadStream,
  validateStreamId,
} from '../../src/adapter/index.js';
import { type Capabilities, MAX_JSON_DEPTH, MAX_POSITION_INT64 } from '../../src/index.js';

const unbounded: Capabilities = {
  maxEventsPerAppend: Number.POSITIVE_INFINITY,
  maxEventBytes: 1024,
  maxEventTypeBytes: 1024,
  maxPosition: 2n ** 63n - 1n,
  maxAppendBytes: Number.POSITIVE_INFINITY,
  idempotencyWindow: 'stream',
};

describe('validation', () => {
  it('prepares events once: lower-case id, JSON text, UTF-8 size', () => {
    const id = randomUUID().toUpperCase();
    const p = prepareAppend('s', [{ type: 'Tÿpe', data: { a: 'é' }, id }], undefined, unbounded);
    const e = p.events[0]!;
    expect(e.id).toBe(id.toLowerCase());
    expect(e.dataJson).toBe('{"a":"é"}');
    expect(e.metadataJson).toBe('{}');
    expect(e.bytes).toBe(Buffer.byteLength('Tÿpe') + Buffer.byteLength('{"a":"é"}') + 2);
    expect(p.expectedVersion).toBe('any');
    expect(p.bytes).toBe(e.bytes);
  });

  it("normalises 'no_stream' to 0 and keeps what the caller asked for", () => {
    const p = prepareAppend('s', [], { expectedVersion: 'no_stream' }, unbounded);
    expect(p.expectedVersion).toBe(0);
    expect(p.requestedExpectedVersion).toBe('no_stream');
  });

  it('accepts null-prototype objects and the largest safe integers', () => {
    const data = Object.assign(Object.create(null) as object, { n: Number.MAX_SAFE_INTEGER });
    expect(() => prepareAppend('s', [{ type: 'A', data }], undefined, unbounded)).not.toThrow();
  });

  it('describes a rejected count or direction without calling its toString', () => {
    const hostile = {
      toString() {
        throw new Error('caller code ran');
      },
    };
    for (const options of [
      { maxCount: hostile },
      { maxCount: Object.create(null) },
      { fromVersion: hostile },
      { direction: hostile },
    ]) {
      expect(() => prepareReadStream('s', options as never)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('an object') }),
      );
    }
    expect(() => prepareReadStream('s', { maxCount: -1 })).toThrow(/got -1/);
    expect(() => prepareReadStream('s', { direction: 'sideways' as never })).toThrow(/got "sideways"/);
  });

  it('names the offending field in the error', () => {
    expect(() =>
      prepareAppend('s', [{ type: 'A', data: { a: [1, undefined] } }], undefined, unbounded),
    ).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', argument: 'events[0].data.a[1]' }));
  });

  it('accepts a stream id of exactly 255 characters and rejects lone surrogates', () => {
    expect(validateStreamId('x'.repeat(255))).toHaveLength(255);
    expect(() => validateStreamId('a\ud800')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('normalises read options', () => {
    expect(prepareReadStream('s', undefined)).toEqual({
      streamId: 's',
      direction: 'forwards',
      fromVersion: undefined,
      maxCount: Number.POSITIVE_INFINITY,
    });
    expect(
      prepareReadAll({ after: 5n, filter: { eventTypes: ['A', 'A'], streamPrefix: '' } }, unbounded),
    ).toEqual({
      after: 5n,
      maxCount: Number.POSITIVE_INFINITY,
      eventTypes: ['A'],
      streamPrefix: undefined,
    });
  });

  it('decides by the idempotency rules', () => {
    const ids: string[] = [randomUUID(), randomUUID(), randomUUID()];
    const stream = {
      currentVersion: 3,
      idAt: (v: number) => ids[v - 1],
      versionOf: (id: string) => {
        const k = ids.indexOf(id);
        return k < 0 ? undefined : k + 1;
      },
    };
    const batch = (list: string[], expectedVersion?: number | 'any' | 'stream_exists' | 'no_stream') =>
      prepareAppend(
        's',
        list.map((id) => ({ type: 'A', data: 1, id })),
        { expectedVersion },
        unbounded,
      );
    expect(decideAppend(batch(ids, 'no_stream'), stream)).toEqual({ kind: 'duplicate', lastVersion: 3 });
    expect(decideAppend(batch([ids[1]!], 1), stream)).toEqual({ kind: 'duplicate', lastVersion: 2 });
    expect(decideAppend(batch([ids[0]!], 3), stream)).toEqual({ kind: 'write' });
    expect(decideAppend(batch([ids[1]!, ids[2]!], 'any'), stream)).toEqual({
      kind: 'duplicate',
      lastVersion: 3,
    });
    expect(decideAppend(batch([ids[1]!, randomUUID()], 'any'), stream).kind).toBe('conflict');
    expect(decideAppend(batch([randomUUID()], 5), stream).kind).toBe('conflict');
    expect(decideAppend(batch([], 3), stream)).toEqual({ kind: 'empty' });
    expect(decideAppend(batch([], 2), stream).kind).toBe('conflict');
  });

  it('walks any depth without recursion: the limit is INVALID_ARGUMENT, never a RangeError', () => {
    const nest = (levels: number) => {
      let v: unknown = 0;
      for (let i = 0; i < levels; i++) v = i % 2 ? [v] : { k: v };
      return v;
    };
    expect(() => assertJson(nest(MAX_JSON_DEPTH), 'data')).not.toThrow();
    for (const levels of [MAX_JSON_DEPTH + 1, 10_000, 1_000_000]) {
      expect(() => assertJson(nest(levels), 'data')).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT', argument: 'data' }),
      );
    }
  });

  it('accepts a value shared by two branches, and refuses a cycle at the path where it closes', () => {
    const shared = { n: 1 };
    expect(() => assertJson({ a: shared, b: [shared, shared] }, 'data')).not.toThrow();
    const cyclic: { a: unknown[] } = { a: [] };
    cyclic.a.push({ back: cyclic });
    expect(() => assertJson(cyclic, 'data')).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', argument: 'data.a[0].back' }),
    );
  });

  it('never calls a getter in data, and names odd keys printably', () => {
    let called = false;
    const data = Object.defineProperty({}, 'x', {
      enumerable: true,
      get() {
        called = true;
        return 1;
      },
    });
    expect(() => assertJson(data, 'data')).toThrow(expect.objectContaining({ argument: 'data.x' }));
    expect(called).toBe(false);
    expect(() => assertJson({ 'a b': [{ '\ud800': 1 }] }, 'data')).toThrow(
      expect.objectContaining({ argument: 'data["a b"][0]["\\ud800"]' }),
    );
  });

  it('bounds positions, event types and filters', () => {
    expect(prepareReadAll({ after: MAX_POSITION_INT64 }, unbounded).after).toBe(MAX_POSITION_INT64);
    expect(() => prepareReadAll({ after: MAX_POSITION_INT64 + 1n }, unbounded)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', argument: 'options.after' }),
    );
    expect(() => prepareReadAll({ filter: { eventTypes: ['A', 'B\u0000'] } }, unbounded)).toThrow(
      expect.objectContaining({ argument: 'options.filter.eventTypes[1]' }),
    );
    const limited = { ...unbounded, maxEventTypeBytes: 4 };
    expect(() => prepareAppend('s', [{ type: 'ABCD', data: 1 }], undefined, limited)).not.toThrow();
    expect(() => prepareAppend('s', [{ type: 'ABé', data: 1 }], undefined, limited)).not.toThrow();
    expect(() => prepareAppend('s', [{ type: 'ABCé', data: 1 }], undefined, limited)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', argument: 'events[0].type' }),
    );
  });

  it('reads each option once, so a getter cannot answer validation and the adapter differently', () => {
    let reads = 0;
    const options = Object.defineProperty({}, 'expectedVersion', {
      enumerable: true,
      get() {
        reads++;
        return reads === 1 ? 'any' : -5;
      },
    });
    expect(prepareAppend('s', [], options, unbounded).requestedExpectedVersion).toBe('any');
    expect(reads).toBe(1);
  });
});
