import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { EventStore, ExpectedVersion, NewEvent, RecordedEvent } from '../../src/index.js';
import { isEventStoreError } from '../../src/index.js';

/** One append a writer attempted: its stream, its event ids in order, and the result when it was acknowledged. */
export interface Attempt {
  streamId: string;
  ids: string[];
  /** The acknowledged `nextExpectedVersion`; undefined when the writer never got an answer. */
  acked?: number;
}

/** Codes after which the outcome is unknown and a retry with the same ids is the contract's answer. */
const RETRY = new Set(['UNAVAILABLE', 'TIMEOUT']);

export interface WorkloadOptions {
  /** The store to write to; a getter, so a test can swap it (a reopened PGlite). */
  store: () => EventStore;
  writers: number;
  streamsPerWriter: number;
  /** Writers stop starting new appends once this returns true; the one in hand is still retried to the end. */
  stop: () => boolean;
  /** How long a writer keeps retrying one append before it gives up on it (it then stays unacknowledged). */
  giveUpMs?: number;
  /** Pause between attempts, in ms. */
  backoffMs?: number;
  /** Unexpected errors (anything but a retryable one) end up here and fail the check. */
  unexpected: unknown[];
  /** Counts the retryable failures by code, to show the faults reached the writers. */
  failures?: Record<string, number>;
}

function batch(i: number): NewEvent[] {
  const n = 1 + (i % 3);
  return Array.from({ length: n }, (_, k) => ({ type: 'Fault', data: { i, k }, id: randomUUID() }));
}

/**
 * Concurrent writers, each on streams of its own, each append retried with the same ids after UNAVAILABLE or
 * TIMEOUT. Half the streams append with the exact expected version (a retry is recognised by rule 1), half with
 * 'any' (rule 3). Returns every attempt, acknowledged or not.
 */
export async function runWriters(options: WorkloadOptions): Promise<Attempt[]> {
  const attempts: Attempt[] = [];
  const giveUpMs = options.giveUpMs ?? 60_000;
  const backoff = options.backoffMs ?? 50;
  const writer = async (w: number) => {
    const streams = Array.from({ length: options.streamsPerWriter }, (_, s) => ({
      id: `fault-${w}-${s}-${randomUUID().slice(0, 8)}`,
      version: 0,
      exact: s % 2 === 0,
    }));
    for (let i = 0; !options.stop(); i++) {
      const stream = streams[i % streams.length]!;
      const events = batch(i);
      const attempt: Attempt = { streamId: stream.id, ids: events.map((e) => e.id!) };
      attempts.push(attempt);
      const expectedVersion: ExpectedVersion = stream.exact ? stream.version : 'any';
      for (const until = Date.now() + giveUpMs; Date.now() < until; ) {
        try {
          const result = await options.store().append(stream.id, events, { expectedVersion });
          attempt.acked = result.nextExpectedVersion;
          stream.version = result.nextExpectedVersion;
          break;
        } catch (err) {
          if (!isEventStoreError(err) || !RETRY.has(err.code)) {
            options.unexpected.push(err);
            return;
          }
          if (options.failures) options.failures[err.code] = (options.failures[err.code] ?? 0) + 1;
          await new Promise((r) => setTimeout(r, backoff));
        }
      }
      if (attempt.acked === undefined) return;
    }
  };
  await Promise.all(Array.from({ length: options.writers }, (_, w) => writer(w)));
  return attempts;
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
    const events: RecordedEvent[] = [];
    for await (const e of store.readStream(streamId)) events.push(e);
    byStream.set(streamId, events);
    expected += events.length;
  }
  const all: RecordedEvent[] = [];
  const until = Date.now() + tailMs;
  for (;;) {
    for await (const e of store.readAll({ after: all.at(-1)?.position ?? 0n })) all.push(e);
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
