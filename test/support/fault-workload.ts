import { expect } from 'vitest';
import { type EventStore, isEventStoreError, type RecordedEvent } from '../../src/index.js';
import type { Attempt } from './fault-writers.js';

export { type Attempt, runWriters, type WorkloadOptions } from './fault-writers.js';

/** A read retried after TIMEOUT or UNAVAILABLE (a server that just restarted may be slow), for up to a minute. */
async function retryRead<T>(read: () => Promise<T>): Promise<T> {
  const until = Date.now() + 60_000;
  for (;;) {
    try {
      return await read();
    } catch (err) {
      const retryable = isEventStoreError(err, 'TIMEOUT') || isEventStoreError(err, 'UNAVAILABLE');
      if (!retryable || Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/**
 * Every stream, then readAll as a tailing reader does it: readAll may end early at a position a crashed writer left
 * unfilled (DynamoDB fills it after `holeTimeoutMs`), so it is called again from the last position until it has
 * returned `expected` events or `tailMs` passed.
 */
async function readEverything(store: EventStore, streams: string[], tailMs: number) {
  const byStream = new Map<string, RecordedEvent[]>();
  let expected = 0;
  for (const streamId of streams) {
    const events = await retryRead(async () => {
      const out: RecordedEvent[] = [];
      for await (const e of store.readStream(streamId)) out.push(e);
      return out;
    });
    byStream.set(streamId, events);
    expected += events.length;
  }
  const all: RecordedEvent[] = [];
  const until = Date.now() + tailMs;
  for (;;) {
    const after = all.at(-1)?.position ?? 0n;
    // Appended one by one: a spread of 100,000+ events would overflow the call stack.
    await retryRead(async () => {
      const out: RecordedEvent[] = [];
      for await (const e of store.readAll({ after })) out.push(e);
      for (const e of out) all.push(e);
    });
    if (all.length >= expected || Date.now() > until) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { byStream, all };
}

/**
 * Checks what a store holds against the attempts: every acknowledged append is there exactly once, at the versions
 * it was acknowledged with; an unacknowledged one is there whole or not at all; no id appears twice; versions are
 * contiguous from 1; readAll's positions strictly increase and agree with the streams. Returns the counts.
 */
export async function checkAgainstAttempts(
  store: EventStore,
  attempts: Attempt[],
  tailMs = 0,
): Promise<{ acknowledged: number; unacknowledged: number; unacknowledgedPresent: number; events: number }> {
  const streams = [...new Set(attempts.map((a) => a.streamId))];
  const { byStream, all } = await readEverything(store, streams, tailMs);
  const where = new Map<string, RecordedEvent>();
  let events = 0;
  for (const [streamId, list] of byStream) {
    expect(
      list.map((e) => e.version),
      `versions of ${streamId}`,
    ).toEqual(list.map((_, i) => i + 1));
    for (const e of list) {
      expect(where.has(e.id), `id ${e.id} stored twice`).toBe(false);
      where.set(e.id, e);
      events++;
    }
  }
  let acknowledged = 0;
  let unacknowledged = 0;
  let unacknowledgedPresent = 0;
  for (const a of attempts) {
    const found = a.ids.map((id) => where.get(id));
    if (a.acked !== undefined) {
      acknowledged++;
      expect(
        found.map((e) => e?.version),
        `acknowledged append on ${a.streamId}`,
      ).toEqual(a.ids.map((_, i) => a.acked! - a.ids.length + 1 + i));
    } else {
      unacknowledged++;
      const present = found.filter((e) => e !== undefined).length;
      expect([0, a.ids.length], `unacknowledged append on ${a.streamId} half-present`).toContain(present);
      if (present > 0) unacknowledgedPresent++;
    }
  }
  // Every stored event belongs to an attempt: nothing was invented or written twice under another id.
  const attempted = new Set(attempts.flatMap((a) => a.ids));
  for (const id of where.keys()) expect(attempted.has(id), `stored id ${id} was never appended`).toBe(true);
  for (let i = 1; i < all.length; i++) {
    expect(all[i]!.position > all[i - 1]!.position, 'readAll positions strictly increase').toBe(true);
  }
  const ours = all.filter((e) => where.has(e.id));
  expect(ours.length, 'readAll returns every stored event').toBe(events);
  for (const e of ours) {
    expect(e.position, `position of ${e.id} in readAll and readStream`).toBe(where.get(e.id)!.position);
  }
  return { acknowledged, unacknowledged, unacknowledgedPresent, events };
}
