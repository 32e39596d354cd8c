import { describe, expect, it } from 'vitest';
import { decodePosition, encodePosition, OFFSET_BITS } from '../../../src/adapters/eventstoredb/position.js';

const LIMIT = 1n << OFFSET_BITS;

describe('eventstoredb position encoding', () => {
  const pairs = [
    { commit: 0n, prepare: 0n },
    { commit: 130n, prepare: 130n },
    { commit: 1_000n, prepare: 900n },
    { commit: 1_000n, prepare: 1_000n },
    { commit: 1_001n, prepare: 1_001n - (LIMIT - 1n) },
    { commit: (1n << 39n) - 1n, prepare: (1n << 39n) - 1n },
    { commit: (1n << 62n) + 7n, prepare: (1n << 62n) + 3n },
  ];

  it('round-trips {commit, prepare} pairs, and every position is at least 1', () => {
    for (const p of pairs) {
      const encoded = encodePosition(p);
      expect(encoded).toBeGreaterThanOrEqual(1n);
      expect(decodePosition(encoded)).toEqual(p);
    }
  });

  it('orders positions like the pairs: commit first, then prepare', () => {
    const sorted = [...pairs].sort((a, b) =>
      a.commit !== b.commit ? (a.commit < b.commit ? -1 : 1) : a.prepare < b.prepare ? -1 : 1,
    );
    const encoded = sorted.map(encodePosition);
    for (let k = 1; k < encoded.length; k++) expect(encoded[k]!).toBeGreaterThan(encoded[k - 1]!);
    // Events of one explicit transaction share a commit; their prepares still order them.
    expect(encodePosition({ commit: 500n, prepare: 100n })).toBeLessThan(
      encodePosition({ commit: 500n, prepare: 300n }),
    );
    expect(encodePosition({ commit: 500n, prepare: 499n })).toBeLessThan(
      encodePosition({ commit: 501n, prepare: 0n + 501n - (LIMIT - 1n) }),
    );
  });

  it('encodes a gRPC-written event (commit = prepare = p) as (p + 1) << OFFSET_BITS, inside int64 below 2^39', () => {
    expect(encodePosition({ commit: 5_391n, prepare: 5_391n })).toBe(5_392n << OFFSET_BITS);
    expect(encodePosition({ commit: (1n << 39n) - 2n, prepare: (1n << 39n) - 2n })).toBeLessThan(1n << 63n);
  });

  it('decodes any number between two events to a pair between theirs, so a crafted `after` keeps its order', () => {
    const a = { commit: 1_000n, prepare: 1_000n };
    const b = { commit: 2_000n, prepare: 2_000n };
    const lex = (x: { commit: bigint; prepare: bigint }, y: { commit: bigint; prepare: bigint }) =>
      x.commit !== y.commit
        ? x.commit < y.commit
          ? -1
          : 1
        : x.prepare === y.prepare
          ? 0
          : x.prepare < y.prepare
            ? -1
            : 1;
    const ea = encodePosition(a);
    const eb = encodePosition(b);
    for (const x of [ea + 1n, (ea + eb) / 2n, eb - 1n]) {
      const d = decodePosition(x);
      expect(lex(d, a)).toBe(1);
      expect(lex(d, b)).toBe(-1);
    }
  });

  it('refuses pairs it cannot hold, with BACKEND_ERROR', () => {
    for (const p of [
      { commit: 10n, prepare: 11n },
      { commit: LIMIT + 5n, prepare: 5n },
      { commit: -1n, prepare: -1n },
    ]) {
      expect(() => encodePosition(p)).toThrow(expect.objectContaining({ code: 'BACKEND_ERROR' }));
    }
  });
});
