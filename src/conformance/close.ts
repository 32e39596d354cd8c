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

/** A read in flight during close() either completes with exactly the seeded events or ends with STORE_CLOSED. */
function expectWholeOrClosed(outcome: Outcome<RecordedEvent[]>, id: string): void {
  expect(outcome.settled).toBe(true);
  if (outcome.error !== undefined) {
    expect(outcome.error).toMatchObject({ code: 'STORE_CLOSED' });
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
    it('lets accepted appends and streamVersion calls finish, and resolves only after they settled', async () => {
      const { store, id, prefix } = await seededStore(target);
      const batches = Array.from({ length: 40 }, () => ({ id: streamId(`${prefix}a`), events: events(3) }));
      const appends = batches.map((b) => watch(store.append(b.id, b.events)));
      const versions = Array.from({ length: 10 }, () => watch(store.streamVersion(id)));
      const reads = [
        ...Array.from({ length: 5 }, () => watch(collect(store.readStream(id)))),
        ...Array.from({ length: 5 }, () =>
          watch(collect(store.readAll({ filter: { streamPrefix: `${prefix}seeded` } }))),
        ),
      ];
      await store.close();
      for (const { outcome } of [...appends, ...versions]) {
        expect(outcome.settled).toBe(true);
        expect(outcome.error).toBeUndefined();
      }
      for (const { outcome } of appends) expect((outcome.value as AppendResult).nextExpectedVersion).toBe(3);
      for (const { outcome } of versions) expect(outcome.value).toBe(SEEDED);
      await Promise.all(reads.map((r) => r.done));
      for (const { outcome } of reads) expectWholeOrClosed(outcome, id);
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
          if (outcome.error !== undefined) continue;
          const stored = await readStream(reopened, batches[k]!.id);
          expect(stored.map((e) => e.id)).toEqual(batches[k]!.events.map((e) => e.id));
        }
      } finally {
        await reopened.close();
      }
    });

    it('refuses with STORE_CLOSED a call started while close() waits for calls in flight', async () => {
      const { store, id } = await seededStore(target);
      const inFlight = Array.from({ length: 10 }, () => watch(store.append(streamId(), events(2))));
      const closing = store.close();
      await expect(store.append(streamId(), events(1))).rejects.toMatchObject({ code: 'STORE_CLOSED' });
      await expect(store.streamVersion(id)).rejects.toMatchObject({ code: 'STORE_CLOSED' });
      await expect(collect(store.readStream(id))).rejects.toMatchObject({ code: 'STORE_CLOSED' });
      await expect(collect(store.readAll())).rejects.toMatchObject({ code: 'STORE_CLOSED' });
      await closing;
      for (const { outcome } of inFlight) {
        expect(outcome.settled).toBe(true);
        expect(outcome.error).toBeUndefined();
      }
    });

    it('answers the next pull of an open read iterator with STORE_CLOSED, without close() waiting for it', async () => {
      const { store, id, prefix } = await seededStore(target);
      const stream = store.readStream(id)[Symbol.asyncIterator]();
      const all = store.readAll({ filter: { streamPrefix: prefix } })[Symbol.asyncIterator]();
      const unstarted = store.readStream(id)[Symbol.asyncIterator]();
      expect((await stream.next()).value).toMatchObject({ streamId: id, version: 1 });
      expect((await all.next()).value).toMatchObject({ streamId: id, version: 1 });
      await store.close();
      await expect(stream.next()).rejects.toMatchObject({ code: 'STORE_CLOSED' });
      await expect(all.next()).rejects.toMatchObject({ code: 'STORE_CLOSED' });
      await expect(unstarted.next()).rejects.toMatchObject({ code: 'STORE_CLOSED' });
    });

    it('shares one promise between concurrent close() calls, and resolves again once closed', async () => {
      const store = await target.create();
      const pending = store.append(streamId(), events(2));
      const first = store.close();
      const second = store.close();
      expect(second).toBe(first);
      await first;
      await expect(pending).resolves.toMatchObject({ nextExpectedVersion: 2 });
      await expect(store.close()).resolves.toBeUndefined();
    });
  });
}
