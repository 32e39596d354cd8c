import { describe, expect, it } from 'vitest';
import {
  decodePosition,
  encodePosition,
  type LogPosition,
  MAX_LOG_POSITION,
  MAX_POSITION,
} from '../../../src/adapters/eventstoredb/position.js';

const lex = (a: LogPosition, b: LogPosition) =>
  a.commit !== b.commit
    ? a.commit < b.commit
      ? -1
      : 1
    : a.prepare === b.prepare
      ? 0
      : a.prepare < b.prepare
        ? -1
        : 1;

const MB = 1_000_000n;

describe('eventstoredb position encoding', () => {
  // Every layout the server writes: gRPC events (commit = prepare), explicit transactions (prepares before one
  // commit record, other writes in between), one whose prepare is 18 MB before its commit, and the extremes.
  const pairs: LogPosition[] = [
    { commit: 0n, prepare: 0n },
    { commit: 130n, prepare: 130n },
    { commit: 1_000n, prepare: 900n },
    { commit: 1_000n, prepare: 1_000n },
    { commit: 20n * MB, prepare: 2n * MB },
    { commit: 20n * MB, prepare: 2n * MB + 1n },
    { commit: 20n * MB, prepare: 20n * MB - 1n },
    { commit: 20n * MB + 1n, prepare: 0n },
    { commit: (1n << 39n) - 1n, prepare: (1n << 39n) - 1n },
    { commit: MAX_LOG_POSITION, prepare: 0n },
    { commit: MAX_LOG_POSITION, prepare: MAX_LOG_POSITION - 1n },
    { commit: MAX_LOG_POSITION, prepare: MAX_LOG_POSITION },
  ];

  it('round-trips every pair, including an 18 MB transaction span and the largest positions', () => {
    for (const p of pairs) {
      const encoded = encodePosition(p);
      expect(encoded).toBeGreaterThanOrEqual(1n);
      expect(encoded).toBeLessThanOrEqual(MAX_POSITION);
      expect(decodePosition(encoded)).toEqual(p);
    }
    expect(encodePosition({ commit: MAX_LOG_POSITION, prepare: MAX_LOG_POSITION })).toBe(MAX_POSITION);
  });

  it('is strictly increasing in $all order (commit, then prepare), for every pair of pairs', () => {
    for (const a of pairs) {
      for (const b of pairs) {
        const byEncoding =
          encodePosition(a) === encodePosition(b) ? 0 : encodePosition(a) < encodePosition(b) ? -1 : 1;
        expect(byEncoding).toBe(lex(a, b));
      }
    }
  });

  it('decodes every number between two positions to a pair between theirs, and is a bijection on a range', () => {
    const a = { commit: 20n * MB, prepare: 2n * MB };
    const b = { commit: 20n * MB + 1n, prepare: 20n * MB + 1n };
    const ea = encodePosition(a);
    const eb = encodePosition(b);
    for (const x of [ea + 1n, (ea + eb) / 2n, eb - 1n]) {
      const d = decodePosition(x);
      expect(lex(d, a)).toBe(1);
      expect(lex(d, b)).toBe(-1);
    }
    for (let x = 1n; x < 2_000n; x += 7n) expect(encodePosition(decodePosition(x))).toBe(x);
    const third = (1n << 64n) * 3n;
    for (let x = third + 1n; x < third + 12n; x++) expect(encodePosition(decodePosition(x))).toBe(x);
    expect(decodePosition(third)).toEqual({ commit: 2n, prepare: (1n << 64n) - 1n });
  });

  it('refuses what the server never writes, with BACKEND_ERROR: negative, or the "no position" marker 2^64 − 1', () => {
    const none = (1n << 64n) - 1n;
    for (const p of [
      { commit: -1n, prepare: 0n },
      { commit: 5n, prepare: -1n },
      { commit: none, prepare: none },
      { commit: 10n, prepare: none },
    ]) {
      expect(() => encodePosition(p)).toThrow(expect.objectContaining({ code: 'BACKEND_ERROR' }));
    }
  });
});
