import { describe, expect, it } from 'vitest';
import { createMemoryEventStore } from '../adapters/memory/index.js';
import {
  type AppendResult,
  type EventStore,
  type ExpectedVersion,
  isEventStoreError,
  type NewEvent,
  type RecordedEvent,
} from '../index.js';
import {
  type ConformanceTarget,
  collect,
  events,
  readStream,
  sleep,
  streamId,
  uniquePrefix,
  useStore,
} from './support.js';

export function concurrencyTests(target: ConformanceTarget): void {
  describe('concurrency', () => {
    const h = useStore(target);

    it('lets exactly one of 16 concurrent appends at the same expected version win', async () => {
      const id = streamId();
      await h.store.append(id, events(2));
      const attempts = Array.from({ length: 16 }, (_, k) =>
        h.store.append(id, events(3, 100 * k), { expectedVersion: 2 }),
      );
      const results = await Promise.allSettled(attempts);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r) => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(won[0]).toMatchObject({ value: { nextExpectedVersion: 5 } });
      for (const r of lost) expect(r.reason).toMatchObject({ code: 'WRONG_EXPECTED_VERSION', streamId: id });
      const read = await readStream(h.store, id);
      expect(read.map((e) => e.version)).toEqual([1, 2, 3, 4, 5]);
      // The winner's three events, all of them, and no one else's.
      const winner = results.indexOf(won[0]!);
      expect(read.slice(2).map((e) => (e.data as { i: number }).i)).toEqual(
        [0, 1, 2].map((k) => 100 * winner + k),
      );
    });

    it("lets exactly one of 16 concurrent 'no_stream' appends create the stream", async () => {
      const id = streamId();
      const results = await Promise.allSettled(
        Array.from({ length: 16 }, () => h.store.append(id, events(2), { expectedVersion: 'no_stream' })),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results)
        if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'WRONG_EXPECTED_VERSION' });
      expect(await h.store.streamVersion(id)).toBe(2);
    });

    it("numbers 60 concurrent 'any' appends 1..60 with no gap and no duplicate", async () => {
      const id = streamId();
      const results = await Promise.all(
        Array.from({ length: 60 }, (_, k) => h.store.append(id, events(1, k))),
      );
      expect(results.map((r) => r.nextExpectedVersion).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 60 }, (_, k) => k + 1),
      );
      const read = await readStream(h.store, id);
      expect(read.map((e) => e.version)).toEqual(Array.from({ length: 60 }, (_, k) => k + 1));
      expect(read.map((e) => (e.data as { i: number }).i).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 60 }, (_, k) => k),
      );
      // Each append's reported version holds the event it wrote.
      for (const [k, r] of results.entries()) expect(read[r.nextExpectedVersion - 1]!.data).toEqual({ i: k });
    });

    it('keeps optimistic read-decide-append loops from several workers exact', async () => {
      const id = streamId();
      const workers = 4;
      const incrementsEach = 8;
      const worker = async (w: number): Promise<void> => {
        for (let done = 0; done < incrementsEach; ) {
          const last = (await collect(h.store.readStream(id, { direction: 'backwards', maxCount: 1 })))[0];
          const version = last?.version ?? 0;
          const count = last ? (last.data as { count: number }).count : 0;
          try {
            await h.store.append(id, [{ type: 'Incremented', data: { count: count + 1, by: w } }], {
              expectedVersion: version,
            });
            done++;
          } catch (err) {
            if (!isEventStoreError(err, 'WRONG_EXPECTED_VERSION')) throw err;
          }
        }
      };
      await Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
      const read = await readStream(h.store, id);
      const total = workers * incrementsEach;
      expect(read.map((e) => (e.data as { count: number }).count)).toEqual(
        Array.from({ length: total }, (_, k) => k + 1),
      );
      for (let w = 0; w < workers; w++) {
        expect(read.filter((e) => (e.data as { by: number }).by === w)).toHaveLength(incrementsEach);
      }
    });

    it('lets a tailing readAll reader see every event exactly once, in increasing positions, during concurrent appends', async () => {
      const p = uniquePrefix();
      const streams = 12;
      const appendsPerStream = 10;
      const expected = streams * appendsPerStream * 2;
      const seen: RecordedEvent[] = [];
      let writersDone = false;
      const reader = (async () => {
        let after = 0n;
        const deadline = Date.now() + 45_000;
        while (seen.length < expected && Date.now() < deadline) {
          let got = 0;
          for await (const e of h.store.readAll({ after, maxCount: 25, filter: { streamPrefix: p } })) {
            if (e.position <= after) throw new Error(`position ${e.position} not after ${after}`);
            seen.push(e);
            after = e.position;
            got++;
          }
          if (got === 0) await sleep(writersDone ? 20 : 2);
        }
      })();
      const writer = async (s: number): Promise<void> => {
        for (let k = 0; k < appendsPerStream; k++) await h.store.append(`${p}${s}`, events(2, 2 * k));
      };
      await Promise.all(Array.from({ length: streams }, (_, s) => writer(s)));
      writersDone = true;
      await reader;
      expect(seen).toHaveLength(expected);
      expect(new Set(seen.map((e) => e.id)).size).toBe(expected);
      for (let k = 1; k < seen.length; k++) expect(seen[k]!.position).toBeGreaterThan(seen[k - 1]!.position);
      const final = await collect(h.store.readAll({ filter: { streamPrefix: p } }));
      expect(seen.map((e) => e.id)).toEqual(final.map((e) => e.id));
      for (let s = 0; s < streams; s++) {
        const versions = seen.filter((e) => e.streamId === `${p}${s}`).map((e) => e.version);
        expect(versions).toEqual(Array.from({ length: appendsPerStream * 2 }, (_, k) => k + 1));
      }
    });

    it('gives each of many appends sent at once, to different streams, the outcome it would have alone', async () => {
      // An adapter may commit concurrent appends together (group commit); no append's outcome, conflict or retry
      // may leak into another's. Each append has a stream of its own, set up alike here and in the reference.
      type Case = {
        setup: 'none' | 'two';
        batch: (stored: NewEvent[]) => NewEvent[];
        expected: ExpectedVersion;
      };
      const cases: Case[] = [
        { setup: 'none', batch: () => events(1), expected: 'no_stream' },
        { setup: 'none', batch: () => events(2), expected: 'stream_exists' },
        { setup: 'none', batch: () => [], expected: 'any' },
        { setup: 'none', batch: () => [], expected: 1 },
        { setup: 'two', batch: () => events(1), expected: 2 },
        { setup: 'two', batch: () => events(1), expected: 1 },
        { setup: 'two', batch: (stored) => stored, expected: 'no_stream' },
        { setup: 'two', batch: (stored) => stored, expected: 'any' },
        { setup: 'two', batch: (stored) => [stored[0]!, ...events(1)], expected: 'any' },
        { setup: 'two', batch: () => events(3), expected: 'any' },
        { setup: 'two', batch: () => [], expected: 3 },
        { setup: 'two', batch: (stored) => [stored[1]!], expected: 1 },
        { setup: 'two', batch: (stored) => [stored[1]!], expected: 'stream_exists' },
      ];
      const reference: EventStore = createMemoryEventStore();
      const runs = [0, 1, 2]
        .flatMap(() => cases)
        .map((c) => {
          const stored = events(2);
          return { ...c, id: streamId('alone'), stored, events: c.batch(stored) };
        });
      for (const r of runs) {
        if (r.setup === 'two') {
          await h.store.append(r.id, r.stored);
          await reference.append(r.id, r.stored);
        }
      }
      const outcome = (p: Promise<AppendResult>) =>
        p.then(
          (ok) => ({ next: ok.nextExpectedVersion, wrote: ok.lastPosition !== null }),
          (err: unknown) => ({
            code: (err as { code?: string }).code,
            actual: (err as { actualVersion?: number }).actualVersion,
          }),
        );
      // All at once, in a shuffled order.
      const order = runs
        .map((_, i) => i)
        .sort((a, b) => ((a * 7919) % runs.length) - ((b * 7919) % runs.length));
      const sent = new Array<Promise<unknown>>(runs.length);
      for (const i of order) {
        const r = runs[i]!;
        sent[i] = outcome(h.store.append(r.id, r.events, { expectedVersion: r.expected }));
      }
      const got = await Promise.all(sent);
      for (const [i, r] of runs.entries()) {
        const alone = await outcome(reference.append(r.id, r.events, { expectedVersion: r.expected }));
        expect({ case: i % cases.length, ...(got[i] as object) }).toEqual({
          case: i % cases.length,
          ...alone,
        });
        const strip = (e: RecordedEvent) => [e.id, e.version, e.type, e.data];
        expect((await readStream(h.store, r.id)).map(strip)).toEqual(
          (await collect(reference.readStream(r.id))).map(strip),
        );
      }
    });

    it('keeps concurrent appends to different streams independent', async () => {
      const ids = Array.from({ length: 20 }, () => streamId());
      const results = await Promise.all(
        ids.map((id) => h.store.append(id, events(3), { expectedVersion: 'no_stream' })),
      );
      expect(results.every((r) => r.nextExpectedVersion === 3)).toBe(true);
      const positions = results.map((r) => r.lastPosition!);
      expect(new Set(positions).size).toBe(20);
      for (const id of ids) expect(await h.store.streamVersion(id)).toBe(3);
    });
  });
}
