import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { EventStore, RecordedEvent, SubscribeOptions, Subscription } from '../index.js';
import {
  type ConformanceTarget,
  events,
  readPrefix,
  sleep,
  streamId,
  uniquePrefix,
  useStore,
} from './support.js';

/** Generous: the suite runs on loaded machines, and every wait below is on a condition. */
const WAIT_MS = 90_000;
const LONG_TEST_MS = 180_000;

/** Resolves once `condition()` holds; fails after `ms` with `what`. */
async function until(condition: () => boolean, what: string, ms = WAIT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** A subscription that records what it handled. */
function recording(
  store: EventStore,
  options: Omit<SubscribeOptions, 'handler'>,
  onEvent?: (e: RecordedEvent) => Promise<void> | void,
): { sub: Subscription; seen: RecordedEvent[] } {
  const seen: RecordedEvent[] = [];
  const sub = store.subscribe({
    ...options,
    handler: async (e) => {
      seen.push(e);
      await onEvent?.(e);
    },
  });
  return { sub, seen };
}

const ids = (list: RecordedEvent[]): string[] => list.map((e) => e.id);

/** The error `fn` throws synchronously (subscribe validates before anything starts). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

export function subscriptionTests(target: ConformanceTarget): void {
  describe('subscriptions', () => {
    const h = useStore(target);

    it('delivers history then live events in readAll order, each once', async () => {
      const p = uniquePrefix();
      await h.store.append(`${p}a`, events(3));
      await h.store.append(`${p}b`, events(2));
      const { sub, seen } = recording(h.store, { filter: { streamPrefix: p } });
      await sub.caughtUp;
      expect(seen).toHaveLength(5);
      await h.store.append(`${p}a`, events(2, 4));
      await h.store.append(`${p}c`, events(1));
      await until(() => seen.length >= 8, '8 events');
      await sub.stop();
      await sub.done;
      expect(ids(seen)).toEqual(ids(await readPrefix(h.store, p)));
    });

    it('sees every event exactly once, in order, with 8 concurrent writers appending live', {
      timeout: LONG_TEST_MS,
    }, async () => {
      const p = uniquePrefix();
      const { sub, seen } = recording(h.store, { filter: { streamPrefix: p } });
      await sub.caughtUp;
      const perWriter = 25;
      await Promise.all(
        Array.from({ length: 8 }, async (_, w) => {
          for (let i = 0; i < perWriter; i++) await h.store.append(`${p}w${w}`, events(1, i + 1));
        }),
      );
      await until(() => seen.length >= 8 * perWriter, `${8 * perWriter} events`);
      const stored = await readPrefix(h.store, p);
      // Give a duplicate the time to show before stopping.
      await h.store.append(`${p}fence`, events(1));
      await until(() => seen.length >= 8 * perWriter + 1, 'the fence event');
      await sub.stop();
      const handled = seen.slice(0, -1);
      expect(new Set(ids(handled)).size).toBe(handled.length);
      expect(ids(handled)).toEqual(ids(stored));
      for (let k = 1; k < seen.length; k++) expect(seen[k]!.position).toBeGreaterThan(seen[k - 1]!.position);
    });

    it('follows one stream in version order from start, end or after a version', async () => {
      const id = streamId();
      await h.store.append(id, events(4));
      const all = recording(h.store, { stream: id });
      const after = recording(h.store, { stream: id, from: { afterVersion: 2 } });
      const end = recording(h.store, { stream: id, from: 'end' });
      await Promise.all([all.sub.caughtUp, after.sub.caughtUp, end.sub.caughtUp]);
      await h.store.append(`${id}-other`, events(1));
      await h.store.append(id, events(2, 5));
      await until(
        () => all.seen.length >= 6 && after.seen.length >= 4 && end.seen.length >= 2,
        'stream events',
      );
      await Promise.all([all.sub.stop(), after.sub.stop(), end.sub.stop()]);
      expect(all.seen.map((e) => e.version)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(after.seen.map((e) => e.version)).toEqual([3, 4, 5, 6]);
      expect(end.seen.map((e) => e.version)).toEqual([5, 6]);
      expect(all.seen.every((e) => e.streamId === id)).toBe(true);
    });

    it("starts at 'end' or right after a position", async () => {
      const p = uniquePrefix();
      await h.store.append(`${p}a`, events(3));
      const before = await readPrefix(h.store, p);
      const end = recording(h.store, { from: 'end', filter: { streamPrefix: p } });
      const after = recording(h.store, { from: { after: before[0]!.position }, filter: { streamPrefix: p } });
      await Promise.all([end.sub.caughtUp, after.sub.caughtUp]);
      await h.store.append(`${p}b`, events(2));
      await until(() => end.seen.length >= 2 && after.seen.length >= 4, 'new events');
      await Promise.all([end.sub.stop(), after.sub.stop()]);
      const stored = await readPrefix(h.store, p);
      expect(ids(end.seen)).toEqual(ids(stored.slice(3)));
      expect(ids(after.seen)).toEqual(ids(stored.slice(1)));
    });

    it('resumes a named subscription after its checkpoint, whatever its from', async () => {
      const p = uniquePrefix();
      const name = `sub-${randomUUID()}`;
      await h.store.append(`${p}a`, events(3));
      const first = recording(h.store, { name, filter: { streamPrefix: p } });
      await first.sub.caughtUp;
      await first.sub.stop();
      await first.sub.done;
      // The last handled event, or a later position the backend reported the filter matches nothing up to.
      const saved = await h.store.checkpoints.load(name);
      expect(saved).toBeGreaterThanOrEqual(first.seen.at(-1)!.position);
      await h.store.append(`${p}b`, events(2));
      const second = recording(h.store, { name, from: 'start', filter: { streamPrefix: p } });
      await second.sub.caughtUp;
      await until(() => second.seen.length >= 2, 'the new events');
      await second.sub.stop();
      const stored = await readPrefix(h.store, p);
      expect(saved).toBeLessThan(stored[3]!.position);
      expect(ids(second.seen)).toEqual(ids(stored.slice(3)));
      await h.store.checkpoints.delete(name);
      expect(await h.store.checkpoints.load(name)).toBeUndefined();
    });

    it('saves, loads and deletes checkpoints directly', async () => {
      const name = `cp-${randomUUID()}`;
      expect(await h.store.checkpoints.load(name)).toBeUndefined();
      await h.store.checkpoints.save(name, 42n);
      expect(await h.store.checkpoints.load(name)).toBe(42n);
      await h.store.checkpoints.save(name, 7n);
      expect(await h.store.checkpoints.load(name)).toBe(7n);
      await h.store.checkpoints.delete(name);
      await h.store.checkpoints.delete(name);
      expect(await h.store.checkpoints.load(name)).toBeUndefined();
    });

    it('hands over one event at a time, and stop() waits for the handler in flight', async () => {
      const p = uniquePrefix();
      await h.store.append(`${p}a`, events(20));
      let running = 0;
      let most = 0;
      let finished = 0;
      const { sub, seen } = recording(h.store, { filter: { streamPrefix: p } }, async () => {
        running++;
        most = Math.max(most, running);
        await sleep(5);
        running--;
        finished++;
      });
      await until(() => seen.length >= 3, '3 events');
      await sub.stop();
      expect(finished).toBe(seen.length);
      expect(most).toBe(1);
      const count = seen.length;
      await h.store.append(`${p}a`, events(2, 21));
      await sleep(200);
      expect(seen).toHaveLength(count);
      await expect(sub.done).resolves.toBeUndefined();
    });

    it('stops when the handler throws: done rejects with its error, the checkpoint stays before the event', async () => {
      const p = uniquePrefix();
      const name = `fail-${randomUUID()}`;
      await h.store.append(`${p}a`, events(5));
      const boom = new Error('handler failed');
      const { sub, seen } = recording(h.store, { name, filter: { streamPrefix: p } }, () => {
        if (seen.length === 3) throw boom;
        return undefined;
      });
      await expect(sub.done).rejects.toBe(boom);
      await expect(sub.caughtUp).rejects.toBe(boom);
      expect(seen).toHaveLength(3);
      expect(await h.store.checkpoints.load(name)).toBe(seen[1]!.position);
      const again = recording(h.store, { name, filter: { streamPrefix: p } });
      await again.sub.caughtUp;
      await again.sub.stop();
      expect(ids(again.seen)).toEqual(
        ids(seen.slice(2)).concat(ids((await readPrefix(h.store, p)).slice(3))),
      );
    });

    it('resolves caughtUp only after the history has been handled', async () => {
      const p = uniquePrefix();
      await h.store.append(`${p}a`, events(40));
      const { sub, seen } = recording(h.store, { filter: { streamPrefix: p }, pageSize: 7 });
      await sub.caughtUp;
      expect(seen).toHaveLength(40);
      await sub.stop();
    });

    it('runs one instance of a name at a time, and another takes over after stop()', {
      timeout: LONG_TEST_MS,
    }, async () => {
      const p = uniquePrefix();
      const name = `lease-${randomUUID()}`;
      await h.store.append(`${p}a`, events(10));
      const options = { name, filter: { streamPrefix: p }, leaseMs: 2_000, checkpoint: { everyEvents: 1 } };
      const one = recording(h.store, options);
      const two = recording(h.store, options);
      await Promise.race([one.sub.caughtUp, two.sub.caughtUp]);
      await sleep(300);
      const [active, standby] = one.seen.length > 0 ? [one, two] : [two, one];
      expect(active.seen).toHaveLength(10);
      expect(standby.seen).toHaveLength(0);
      await active.sub.stop();
      await h.store.append(`${p}a`, events(3, 11));
      await until(() => standby.seen.length >= 3, 'the standby instance to take over');
      await standby.sub.stop();
      expect(ids([...active.seen, ...standby.seen])).toEqual(ids(await readPrefix(h.store, p)));
    });

    it('rejects bad options with INVALID_ARGUMENT before anything starts', async () => {
      const handler = async (): Promise<void> => {};
      const bad: unknown[] = [
        undefined,
        null,
        {},
        { handler: 'no' },
        { handler, from: 'middle' },
        { handler, from: { after: -1n } },
        { handler, from: { after: 1 } },
        { handler, stream: 's', from: { after: 1n } },
        { handler, stream: 's', from: { afterVersion: -1 } },
        { handler, stream: 's', filter: { streamPrefix: 'x' } },
        { handler, stream: '' },
        { handler, name: '' },
        { handler, name: 42 },
        { handler, name: 'x'.repeat(201) },
        { handler, filter: { eventTypes: [] } },
        { handler, pageSize: 0 },
        { handler, checkpoint: { everyEvents: 0 } },
        { handler, leaseMs: 1 },
        { handler, transactional: true },
        { handler, unknown: true },
      ];
      for (const options of bad) {
        const err = thrown(() => h.store.subscribe(options as SubscribeOptions));
        expect(
          err,
          JSON.stringify(options, (_, v) => (typeof v === 'bigint' ? `${v}n` : v)),
        ).toMatchObject({
          code: 'INVALID_ARGUMENT',
        });
      }
      await expect(h.store.checkpoints.load('')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(h.store.checkpoints.save('x', -1n)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(h.store.checkpoints.save('x', 1 as unknown as bigint)).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
    });

    it('stops its subscriptions on close(), and refuses new ones after', async () => {
      const store = await target.create();
      const p = uniquePrefix();
      await store.append(`${p}a`, events(2));
      const { sub } = recording(store, { filter: { streamPrefix: p } });
      await sub.caughtUp;
      await store.close();
      await expect(sub.done).resolves.toBeUndefined();
      expect(thrown(() => store.subscribe({ handler: () => {} }))).toMatchObject({ code: 'STORE_CLOSED' });
    });
  });
}
