import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { events, readPrefix, sleep } from '../../../src/conformance/support.js';
import { createEventStore, type EventStore, type RecordedEvent } from '../../../src/index.js';
import { type EsdbEmulator, startEsdbEmulator } from '../../support/esdb-emulator/index.js';

/** Every wait is on a condition; this only bounds a test that would otherwise hang. */
const WAIT_MS = 60_000;

async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(10);
  }
}

const prefix = () => `sub-${randomUUID()}/`;

describe('EventStoreDB subscriptions delivered by the server (emulator)', () => {
  let store: EventStore;
  beforeAll(async () => {
    store = await createEventStore(inject('esdbUrl'));
  });
  afterAll(async () => {
    await store.close();
  });

  it('a filtered named subscription that matches nothing more still moves its checkpoint, on checkpoint reached', async () => {
    const p = prefix();
    const name = `sparse-${randomUUID()}`;
    await store.append(`${p}a`, events(1));
    const seen: RecordedEvent[] = [];
    const sub = store.subscribe({
      name,
      filter: { streamPrefix: p },
      checkpoint: { everyMs: 1 },
      handler: (e) => {
        seen.push(e);
      },
    });
    await sub.caughtUp;
    expect(seen).toHaveLength(1);
    const first = seen[0]!.position;
    // Events the filter leaves out: the server considers them and reports how far it got.
    const other = `other-${randomUUID()}`;
    let beyond = 0n;
    await until(async () => {
      const written = await store.append(other, events(50));
      beyond = written.lastPosition ?? beyond;
      const saved = await store.checkpoints.load(name);
      return saved !== undefined && saved > first;
    }, 'the checkpoint to pass the last matching event');
    await sub.stop();
    await sub.done;
    const saved = (await store.checkpoints.load(name))!;
    expect(saved).toBeGreaterThan(first);
    expect(saved).toBeLessThanOrEqual(beyond);
    // Resuming from there delivers the next matching event, and nothing before it.
    await store.append(`${p}b`, events(1));
    const again: RecordedEvent[] = [];
    const resumed = store.subscribe({
      name,
      filter: { streamPrefix: p },
      handler: (e) => void again.push(e),
    });
    await until(() => again.length >= 1, 'the next matching event');
    await resumed.stop();
    expect(again.map((e) => e.streamId)).toEqual([`${p}b`]);
  });

  it('a metadata change while subscribed hides the events read after it, as readAll does', async () => {
    const p = prefix();
    const s = `${p}s`;
    const seen: RecordedEvent[] = [];
    const sub = store.subscribe({ filter: { streamPrefix: p }, handler: (e) => void seen.push(e) });
    await sub.caughtUp;
    await store.append(s, events(1));
    await until(() => seen.length >= 1, 'the first event');
    // The subscription has read the stream's rule already; the change reaches it through $$<stream>, in log order.
    await store.setStreamMetadata(s, { maxCount: 1 });
    await store.append(s, events(3, 2));
    await store.append(`${p}end`, events(1));
    await until(() => seen.some((e) => e.streamId === `${p}end`), 'the last event');
    await sub.stop();
    const read = await readPrefix(store, p);
    expect(read.map((e) => [e.streamId, e.version])).toEqual([
      [s, 4],
      [`${p}end`, 1],
    ]);
    expect(seen.map((e) => [e.streamId, e.version])).toEqual([
      [s, 1],
      ...read.map((e) => [e.streamId, e.version]),
    ]);
  });

  it('a tombstone while subscribed hides the rest of the stream', async () => {
    const p = prefix();
    const s = `${p}s`;
    const seen: RecordedEvent[] = [];
    await store.append(s, events(2));
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const sub = store.subscribe({
      filter: { streamPrefix: p },
      handler: async (e) => {
        seen.push(e);
        if (seen.length === 1) await gate;
      },
    });
    await until(() => seen.length === 1, 'the first event');
    await store.deleteStream(s, { hard: true });
    await store.append(`${p}end`, events(1));
    release();
    await until(() => seen.some((e) => e.streamId === `${p}end`), 'the last event');
    await sub.stop();
    // The second event was already checked when the first was handed over, so it may come; nothing after the
    // tombstone does, and readAll shows none of the stream.
    expect(seen.at(-1)!.streamId).toBe(`${p}end`);
    expect((await readPrefix(store, p)).map((e) => e.streamId)).toEqual([`${p}end`]);
  });
});

describe('EventStoreDB subscriptions on an emulator of their own', () => {
  let emulator: EsdbEmulator;
  beforeAll(async () => {
    emulator = await startEsdbEmulator();
  });
  afterAll(async () => {
    await emulator.stop();
  });

  it('reads with flow control: a slow handler holds the server back, whatever is stored', {
    timeout: 120_000,
  }, async () => {
    const store = await createEventStore(emulator.url);
    try {
      const p = prefix();
      for (let i = 0; i < 100; i++) await store.append(`${p}${i % 10}`, events(200));
      const pageSize = 50;
      const sentBefore = emulator.stats.subscriptionEvents;
      let handled = 0;
      let most = 0;
      const sub = store.subscribe({
        filter: { streamPrefix: p },
        pageSize,
        handler: async () => {
          most = Math.max(most, emulator.stats.subscriptionEvents - sentBefore - handled);
          await sleep(5);
          handled++;
        },
      });
      await until(() => handled >= 300, 'some events handled');
      await sub.stop();
      // Ahead of the handler: the client's buffers (2 × pageSize), the gRPC call's and the server's write buffers,
      // and what the HTTP/2 windows let through (64 KiB each way, about 400 events of this size apiece): far below
      // the 20,000 stored.
      console.info(
        `EventStoreDB emulator: at most ${most} events sent ahead of a slow handler (pageSize ${pageSize})`,
      );
      expect(most).toBeLessThan(2_000);
    } finally {
      await store.close();
    }
  });

  it('retries when the server drops the call mid-catch-up, and resumes after the last handled event', async () => {
    const store = await createEventStore(emulator.url);
    try {
      const p = prefix();
      for (let i = 0; i < 10; i++) await store.append(`${p}${i % 3}`, events(100));
      const seen: RecordedEvent[] = [];
      let restarted: Promise<void> | undefined;
      const sub = store.subscribe({
        filter: { streamPrefix: p },
        pageSize: 50,
        retry: { initialDelayMs: 20, attempts: 20 },
        handler: async (e) => {
          seen.push(e);
          if (seen.length === 300) restarted = emulator.restart();
          if (seen.length % 50 === 0) await sleep(1);
        },
      });
      await until(() => restarted !== undefined, 'the restart');
      await restarted;
      // The restart closed the client's channel: the first call on it may fail UNAVAILABLE, as the contract allows;
      // the same events (ids) again are recognised if it was written after all.
      const late = events(5).map((e) => ({ ...e, id: randomUUID() }));
      await until(
        () =>
          store.append(`${p}late`, late).then(
            () => true,
            (err: { code?: string }) => {
              if (err.code === 'UNAVAILABLE') return false;
              throw err;
            },
          ),
        'an append after the restart',
      );
      await until(() => seen.length >= 1_005, 'every event');
      await sub.stop();
      await expect(sub.done).resolves.toBeUndefined();
      const stored = await readPrefix(store, p);
      expect(seen.map((e) => e.id)).toEqual(stored.map((e) => e.id));
    } finally {
      await store.close();
    }
  });
});
