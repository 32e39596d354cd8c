import { describe, expect, it } from 'vitest';
import type { AppendResult, EventStore, NewEvent, RecordedEvent } from '../index.js';
import {
  type ConformanceTarget,
  collect,
  events,
  readStream,
  skipUnlessCapable,
  streamId,
  uniquePrefix,
} from './support.js';

/** How a call ended, recorded the moment it settled. */
interface Outcome<T> {
  settled: boolean;
  value?: T;
  error?: unknown;
}

function watch<T>(p: Promise<T>): { outcome: Outcome<T>; done: Promise<void> } {
  const outcome: Outcome<T> = { settled: false };
  const done = p.then(
    (value) => {
      outcome.settled = true;
      outcome.value = value;
    },
    (error: unknown) => {
      outcome.settled = true;
      outcome.error = error;
    },
  );
  return { outcome, done };
}

const SEEDED = 30;

/** A store with one seeded stream of {@link SEEDED} events under a prefix of its own, for reads in flight. */
async function seededStore(
  target: ConformanceTarget,
): Promise<{ store: EventStore; id: string; prefix: string }> {
  const store = await target.create();
  const prefix = uniquePrefix();
  const id = `${prefix}seeded`;
  await store.append(id, events(SEEDED));
  return { store, id, prefix };
}

/** A call whose deadline passed: the contract's TIMEOUT, whose outcome is unknown. Any other error fails. */
function timedOut(outcome: Outcome<unknown>): boolean {
  return (outcome.error as { code?: unknown } | undefined)?.code === 'TIMEOUT';
}

/**
 * A read in flight during close() completes with exactly the seeded events, or ends with STORE_CLOSED (its next
 * pull came after close() began), or TIMEOUT (a pull passed its deadline).
 */
function expectWholeOrClosed(outcome: Outcome<RecordedEvent[]>, id: string): void {
  expect(outcome.settled).toBe(true);
  if (outcome.error !== undefined) {
    expect(['STORE_CLOSED', 'TIMEOUT']).toContain((outcome.error as { code?: unknown }).code);
    return;
  }
  expect(outcome.value!.map((e) => [e.streamId, e.version])).toEqual(
    Array.from({ length: SEEDED }, (_, k) => [id, k + 1]),
  );
}

/**
 * `close()` with calls in flight, the rule documented on `EventStore.close`: a call started after close() began
 * is STORE_CLOSED; accepted calls finish; close() resolves after all of them settled; an open read iterator's next
 * pull is STORE_CLOSED and never hangs; close() is idempotent and concurrent calls share one promise.
 */
export function closeTests(target: ConformanceTarget): void {
  describe('close', () => {
    it('settles every accepted call before close() resolves, and refuses calls started after it began', async () => {
      const { store, id, prefix } = await seededStore(target);
      // Read iterators opened and pulled once before close(), then left idle.
      const stream = store.readStream(id)[Symbol.asyncIterator]();
      const all = store.readAll({ filter: { streamPrefix: prefix } })[Symbol.asyncIterator]();
      const unstarted = store.readStream(id)[Symbol.asyncIterator]();
      expect((await stream.next()).value).toMatchObject({ streamId: id, version: 1 });
      expect((await all.next()).value).toMatchObject({ streamId: id, version: 1 });

      // Calls in flight when close() begins.
      const appends = Array.from({ length: 40 }, () =>
        watch(store.append(streamId(`${prefix}a`), events(3))),
      );
      const versions = Array.from({ length: 10 }, () => watch(store.streamVersion(id)));
      const reads = [
        ...Array.from({ length: 5 }, () => watch(collect(store.readStream(id)))),
        ...Array.from({ length: 5 }, () =>
          watch(collect(store.readAll({ filter: { streamPrefix: `${prefix}seeded` } }))),
        ),
      ];
      const closing = store.close();
      expect(store.close()).toBe(closing);

      // Calls started after close() began, while it waits for those in flight.
      const closed = (operation: string) => ({ code: 'STORE_CLOSED', operation });
      await expect(store.append(streamId(), events(1))).rejects.toMatchObject(closed('append'));
      await expect(store.streamVersion(id)).rejects.toMatchObject(closed('streamVersion'));
      await expect(collect(store.readStream(id))).rejects.toMatchObject(closed('readStream'));
      await expect(collect(store.readAll())).rejects.toMatchObject(closed('readAll'));

      await closing;
      // Accepted calls finish: each succeeded, unless its deadline passed first (TIMEOUT).
      for (const { outcome } of [...appends, ...versions]) {
        expect(outcome.settled).toBe(true);
        if (!timedOut(outcome)) expect(outcome.error).toBeUndefined();
      }
      for (const { outcome } of appends) {
        if (!timedOut(outcome)) expect((outcome.value as AppendResult).nextExpectedVersion).toBe(3);
      }
      for (const { outcome } of versions) if (!timedOut(outcome)) expect(outcome.value).toBe(SEEDED);
      await Promise.all(reads.map((r) => r.done));
      for (const { outcome } of reads) expectWholeOrClosed(outcome, id);

      // The idle iterators' next pull, after close() resolved without waiting for them.
      await expect(stream.next()).rejects.toMatchObject({ code: 'STORE_CLOSED', operation: 'readStream' });
      await expect(all.next()).rejects.toMatchObject({ code: 'STORE_CLOSED', operation: 'readAll' });
      await expect(unstarted.next()).rejects.toMatchObject({ code: 'STORE_CLOSED' });
      await expect(store.close()).resolves.toBeUndefined();
    });

    it('keeps every append it acknowledged before close() resolved', async (ctx) => {
      skipUnlessCapable(ctx, target.sharedBackend === true, 'stores of this target do not share a backend');
      const store = await target.create();
      const batches: Array<{ id: string; events: NewEvent[] }> = Array.from({ length: 40 }, () => ({
        id: streamId('close-kept'),
        events: events(2),
      }));
      const appends = batches.map((b) => watch(store.append(b.id, b.events)));
      await store.close();
      const reopened = await target.create();
      try {
        for (const [k, { outcome }] of appends.entries()) {
          expect(outcome.settled).toBe(true);
          // TIMEOUT leaves the outcome unknown: only what was acknowledged must be there.
          if (timedOut(outcome)) continue;
          expect(outcome.error).toBeUndefined();
          const stored = await readStream(reopened, batches[k]!.id);
          expect(stored.map((e) => e.id)).toEqual(batches[k]!.events.map((e) => e.id));
        }
      } finally {
        await reopened.close();
      }
    });
  });
}
