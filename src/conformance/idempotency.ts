import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  type ConformanceTarget,
  events,
  readStream,
  skipUnlessCapable,
  streamId,
  useStore,
} from './support.js';

export function idempotencyTests(target: ConformanceTarget): void {
  describe('idempotency', () => {
    const h = useStore(target);

    /** A stream with `batch` written at 'no_stream', then `after` more events. */
    async function written(batchSize: number, after = 0) {
      const id = streamId();
      const batch = events(batchSize);
      const result = await h.store.append(id, batch, { expectedVersion: 'no_stream' });
      if (after > 0) await h.store.append(id, events(after, 100));
      const stored = await readStream(h.store, id);
      return { id, batch, result, stored };
    }

    describe('rule 1: an exact expected version on a stream already past it', () => {
      it('recognises a retry of the whole batch and writes nothing', async () => {
        const { id, batch, result, stored } = await written(3);
        for (const expectedVersion of ['no_stream', 0] as const) {
          const retry = await h.store.append(id, batch, { expectedVersion });
          expect(retry).toEqual({ nextExpectedVersion: 3, lastPosition: result.lastPosition });
        }
        expect(await readStream(h.store, id)).toEqual(stored);
      });

      it('recognises a retry of a prefix of the batch, returning the prefix last event', async () => {
        const { id, batch, stored } = await written(3);
        const retry = await h.store.append(id, batch.slice(0, 2), { expectedVersion: 'no_stream' });
        expect(retry).toEqual({ nextExpectedVersion: 2, lastPosition: stored[1]!.position });
        expect(await h.store.streamVersion(id)).toBe(3);
      });

      it('recognises a retry from a later exact version, and after more events were appended', async () => {
        const { id, batch, stored } = await written(3, 2);
        const retry = await h.store.append(id, batch.slice(1), { expectedVersion: 1 });
        expect(retry).toEqual({ nextExpectedVersion: 3, lastPosition: stored[2]!.position });
        const whole = await h.store.append(id, batch, { expectedVersion: 'no_stream' });
        expect(whole).toEqual({ nextExpectedVersion: 3, lastPosition: stored[2]!.position });
        expect(await h.store.streamVersion(id)).toBe(5);
      });

      it('recognises ids whatever their letter case', async () => {
        const { id, batch, result } = await written(2);
        const upper = batch.map((e) => ({ ...e, id: e.id!.toUpperCase() }));
        await expect(h.store.append(id, upper, { expectedVersion: 'no_stream' })).resolves.toEqual({
          nextExpectedVersion: 2,
          lastPosition: result.lastPosition,
        });
      });

      it('fails when the ids differ, write nothing', async () => {
        const { id, batch, stored } = await written(3);
        const cases = [
          events(3), // all different
          [batch[0]!, { ...batch[1]!, id: randomUUID() }], // first matches, second differs
          [batch[1]!, batch[0]!], // same ids, other order
          [...batch, ...events(1)], // longer than what follows the expected version
          [batch[1]!], // an id that is there, at the wrong version
        ];
        for (const attempt of cases) {
          await expect(h.store.append(id, attempt, { expectedVersion: 'no_stream' })).rejects.toMatchObject({
            code: 'WRONG_EXPECTED_VERSION',
            streamId: id,
          });
        }
        expect(await readStream(h.store, id)).toEqual(stored);
      });

      it('recognises the same retry sent many times at once, writing the batch once', async () => {
        const id = streamId();
        const batch = events(3);
        const results = await Promise.all(
          Array.from({ length: 8 }, () => h.store.append(id, batch, { expectedVersion: 'no_stream' })),
        );
        const stored = await readStream(h.store, id);
        expect(stored.map((e) => e.id)).toEqual(batch.map((e) => e.id));
        for (const r of results)
          expect(r).toEqual({ nextExpectedVersion: 3, lastPosition: stored[2]!.position });
      });
    });

    describe('rule 2: an exact expected version equal to the current version', () => {
      it('appends normally, without checking ids', async () => {
        const { id, batch } = await written(2);
        const again = await h.store.append(id, [batch[0]!], { expectedVersion: 2 });
        expect(again.nextExpectedVersion).toBe(3);
        const stored = await readStream(h.store, id);
        expect(stored.map((e) => e.id)).toEqual([batch[0]!.id, batch[1]!.id, batch[0]!.id]);
      });
    });

    describe("rule 3: 'any' and 'stream_exists'", () => {
      for (const expectedVersion of ['any', 'stream_exists'] as const) {
        it(`'${expectedVersion}': recognises a retry of the last batch and returns the original result`, async () => {
          const id = streamId();
          await h.store.append(id, events(2));
          const batch = events(3);
          const original = await h.store.append(id, batch, { expectedVersion });
          const stored = await readStream(h.store, id);
          expect(await h.store.append(id, batch, { expectedVersion })).toEqual(original);
          expect(await h.store.append(id, batch.slice(0, 1), { expectedVersion })).toEqual({
            nextExpectedVersion: 3,
            lastPosition: stored[2]!.position,
          });
          expect(await h.store.append(id, batch.slice(1), { expectedVersion })).toEqual(original);
          expect(await readStream(h.store, id)).toEqual(stored);
        });

        it(`'${expectedVersion}': fails on a partial match and writes nothing`, async () => {
          const id = streamId();
          const batch = events(3);
          await h.store.append(id, batch);
          const stored = await readStream(h.store, id);
          const partials = [
            [batch[0]!, { ...batch[1]!, id: randomUUID() }],
            [batch[1]!, batch[2]!, ...events(1)],
            [batch[0]!, batch[2]!],
          ];
          for (const attempt of partials) {
            await expect(h.store.append(id, attempt, { expectedVersion })).rejects.toMatchObject({
              code: 'WRONG_EXPECTED_VERSION',
              streamId: id,
            });
          }
          expect(await readStream(h.store, id)).toEqual(stored);
        });

        it(`'${expectedVersion}': appends normally when the first id is unknown`, async () => {
          const id = streamId();
          const first = events(2);
          await h.store.append(id, first);
          const r = await h.store.append(id, [...events(1), first[0]!], { expectedVersion });
          expect(r.nextExpectedVersion).toBe(4);
        });
      }

      it("'any': recognises the same retry sent many times at once, writing the batch once", async () => {
        const id = streamId();
        await h.store.append(id, events(1));
        const batch = events(2);
        const results = await Promise.all(Array.from({ length: 8 }, () => h.store.append(id, batch)));
        const stored = await readStream(h.store, id);
        expect(stored.map((e) => e.id)).toEqual([stored[0]!.id, ...batch.map((e) => e.id)]);
        for (const r of results)
          expect(r).toEqual({ nextExpectedVersion: 3, lastPosition: stored[2]!.position });
      });

      it("'any': recognises a retry after many later appends when the window is the whole stream", async (ctx) => {
        skipUnlessCapable(
          ctx,
          h.store.capabilities.idempotencyWindow === 'stream',
          "idempotencyWindow is not 'stream'",
        );
        const id = streamId();
        const batch = events(2);
        const original = await h.store.append(id, batch);
        for (let k = 0; k < 10; k++) await h.store.append(id, events(5));
        expect(await h.store.append(id, batch)).toEqual(original);
        expect(await h.store.streamVersion(id)).toBe(52);
      });

      it("'any': recognises a retry after later appends within the declared window", async (ctx) => {
        const window = h.store.capabilities.idempotencyWindow;
        skipUnlessCapable(ctx, typeof window === 'number' && window > 1, 'idempotencyWindow is not a count');
        const id = streamId();
        const batch = events(1);
        const original = await h.store.append(id, batch);
        const later = Math.min((window as number) - 1, 20);
        for (let k = 0; k < later; k++) await h.store.append(id, events(1));
        expect(await h.store.append(id, batch)).toEqual(original);
        expect(await h.store.streamVersion(id)).toBe(1 + later);
      });
    });

    describe('rule 4: the same id twice in one batch', () => {
      it('is INVALID_ARGUMENT, whatever the letter case, and writes nothing', async () => {
        const id = streamId();
        const dup = randomUUID();
        for (const second of [dup, dup.toUpperCase()]) {
          await expect(
            h.store.append(id, [
              { type: 'A', data: 1, id: dup },
              { type: 'B', data: 2, id: second },
            ]),
          ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
        }
        expect(await h.store.streamVersion(id)).toBe(0);
      });
    });

    describe('rule 5: an empty batch', () => {
      it('checks the expected version, writes nothing and returns lastPosition null', async () => {
        const id = streamId();
        expect(await h.store.append(id, [])).toEqual({ nextExpectedVersion: 0, lastPosition: null });
        expect(await h.store.append(id, [], { expectedVersion: 'no_stream' })).toEqual({
          nextExpectedVersion: 0,
          lastPosition: null,
        });
        await expect(h.store.append(id, [], { expectedVersion: 'stream_exists' })).rejects.toMatchObject({
          code: 'WRONG_EXPECTED_VERSION',
        });
        await h.store.append(id, events(2));
        expect(await h.store.append(id, [], { expectedVersion: 2 })).toEqual({
          nextExpectedVersion: 2,
          lastPosition: null,
        });
        expect(await h.store.append(id, [], { expectedVersion: 'stream_exists' })).toEqual({
          nextExpectedVersion: 2,
          lastPosition: null,
        });
        expect(await h.store.append(id, [])).toEqual({ nextExpectedVersion: 2, lastPosition: null });
        for (const stale of [0, 1, 3, 'no_stream'] as const) {
          await expect(h.store.append(id, [], { expectedVersion: stale })).rejects.toMatchObject({
            code: 'WRONG_EXPECTED_VERSION',
            actualVersion: 2,
          });
        }
        expect(await h.store.streamVersion(id)).toBe(2);
      });
    });
  });
}
