import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createMemoryEventStore } from '../adapters/memory/index.js';
import type { AppendResult, EventStore, ExpectedVersion, NewEvent, RecordedEvent } from '../index.js';
import { type ConformanceTarget, collect, uniquePrefix, useStore } from './support.js';

/** A small deterministic PRNG (mulberry32), so a failing sequence can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Outcome =
  | { ok: true; nextExpectedVersion: number; lastPositionIsNull: boolean }
  | { ok: false; code: unknown; actualVersion: unknown };

async function outcome(p: Promise<AppendResult>): Promise<Outcome> {
  try {
    const r = await p;
    return {
      ok: true,
      nextExpectedVersion: r.nextExpectedVersion,
      lastPositionIsNull: r.lastPosition === null,
    };
  } catch (err) {
    const e = err as { code?: unknown; actualVersion?: unknown };
    return {
      ok: false,
      code: e.code,
      actualVersion: e.code === 'WRONG_EXPECTED_VERSION' ? e.actualVersion : undefined,
    };
  }
}

/** What must agree between the adapter and the reference: everything but positions and timestamps. */
const shape = (e: RecordedEvent) => [e.streamId, e.version, e.id, e.type, e.data, e.metadata];

/**
 * Differential test: a random sequence of appends (every expected-version mode, retries of earlier batches, partial
 * and reordered retries, empty batches) runs on the adapter and on the memory reference implementation, and every
 * outcome and every read must agree. Retries stay within the adapter's declared idempotency window.
 */
export function modelTests(target: ConformanceTarget): void {
  describe('agreement with the reference implementation', () => {
    const h = useStore(target);

    for (const seed of [1, 2, 3]) {
      it(`agrees on a random sequence of appends and retries (seed ${seed})`, async () => {
        const random = prng(seed);
        const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
        const reference: EventStore = createMemoryEventStore();
        const prefix = uniquePrefix();
        const streams = Array.from({ length: 4 }, (_, k) => `${prefix}${k}`);
        const window = h.store.capabilities.idempotencyWindow;
        const reach = typeof window === 'number' ? Math.max(1, window - 1) : 50;
        const limit = Math.min(h.store.capabilities.maxEventsPerAppend, 5);
        /** Batches already sent per stream, newest last, with the stream version after each. */
        const sent = new Map<string, Array<{ batch: NewEvent[]; versionBefore: number }>>();

        for (let step = 0; step < 120; step++) {
          const stream = pick(streams);
          const version = await reference.streamVersion(stream);
          const history = sent.get(stream) ?? [];
          // Rule 2 lets an id occur twice in a stream; which occurrence an 'any' retry then matches is left to the
          // backend (EventStoreDB decides it in its server), so retries here only use ids that occur once.
          const ids = (await collect(reference.readStream(stream))).map((e) => e.id);
          const once = (id: string | undefined) => ids.indexOf(id!) === ids.lastIndexOf(id!);
          const recent = history.filter(
            (b) => version - b.versionBefore <= reach && b.batch.every((e) => once(e.id)),
          );
          let batch: NewEvent[];
          let expectedVersion: ExpectedVersion;
          const roll = random();
          if (roll < 0.3 && recent.length > 0) {
            // A retry of an earlier batch, maybe a prefix or suffix, at its own or another expected version.
            const old = pick(recent);
            const cut = Math.floor(random() * old.batch.length);
            batch = random() < 0.5 ? old.batch.slice(0, cut + 1) : old.batch.slice(cut);
            if (random() < 0.2 && batch.length > 1) batch = [...batch].reverse();
            expectedVersion = pick<ExpectedVersion>([
              'any',
              'stream_exists',
              old.versionBefore,
              version,
              old.versionBefore + 1,
            ]);
          } else if (roll < 0.35) {
            batch = [];
            expectedVersion = pick<ExpectedVersion>([
              'any',
              'no_stream',
              'stream_exists',
              version,
              version + 1,
              Math.max(0, version - 1),
            ]);
          } else {
            const n = 1 + Math.floor(random() * limit);
            batch = Array.from({ length: n }, (_, k) => ({
              type: pick(['Opened', 'Changed', 'Closed']),
              data: { step, k, text: pick(['', 'ä', '"q"', 'x'.repeat(20)]) },
              ...(random() < 0.5 ? { metadata: { step } } : {}),
              id: randomUUID(),
            }));
            expectedVersion = pick<ExpectedVersion>([
              'any',
              'no_stream',
              'stream_exists',
              version,
              version,
              version + 1,
              Math.max(0, version - 1),
            ]);
          }
          const stored = (await collect(reference.readStream(stream))).map((e) => e.id);
          const where = batch.map((e) =>
            stored.includes(e.id!) ? `v${stored.lastIndexOf(e.id!) + 1}` : 'new',
          );
          const expected = await outcome(reference.append(stream, batch, { expectedVersion }));
          const actual = await outcome(h.store.append(stream, batch, { expectedVersion }));
          // The contract lets an adapter leave actualVersion undefined when its backend does not report it.
          if (!actual.ok && !expected.ok && actual.actualVersion === undefined)
            expected.actualVersion = undefined;
          expect(
            actual,
            `step ${step}: ${stream} at ${version}, batch [${where.join(',')}], expected ${expectedVersion}`,
          ).toEqual(expected);
          if (expected.ok && batch.length > 0 && (await reference.streamVersion(stream)) > version) {
            history.push({ batch, versionBefore: version });
            sent.set(stream, history);
          }
        }

        for (const stream of streams) {
          expect(await h.store.streamVersion(stream)).toBe(await reference.streamVersion(stream));
          const mine = await collect(h.store.readStream(stream));
          expect(mine.map(shape)).toEqual((await collect(reference.readStream(stream))).map(shape));
          const back = await collect(
            h.store.readStream(stream, { direction: 'backwards', fromVersion: 3, maxCount: 2 }),
          );
          expect(back.map(shape)).toEqual(
            (
              await collect(
                reference.readStream(stream, { direction: 'backwards', fromVersion: 3, maxCount: 2 }),
              )
            ).map(shape),
          );
        }
        const all = await collect(h.store.readAll({ filter: { streamPrefix: prefix } }));
        expect(all.map(shape)).toEqual(
          (await collect(reference.readAll({ filter: { streamPrefix: prefix } }))).map(shape),
        );
        await reference.close();
      });
    }
  });
}
