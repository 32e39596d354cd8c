import { randomUUID } from 'node:crypto';
import type { EventStore, ExpectedVersion, NewEvent } from '../../src/index.js';
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
  /** Called before an append is first sent, and when it is acknowledged. */
  onAttempt?: (attempt: Attempt) => void;
  onAck?: (attempt: Attempt) => void;
  /** Awaited before each new append (never between retries of one): lets a test hold the writers between appends. */
  gate?: () => Promise<void>;
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
      await options.gate?.();
      if (options.stop()) break;
      const stream = streams[i % streams.length]!;
      const events = batch(i);
      const attempt: Attempt = { streamId: stream.id, ids: events.map((e) => e.id!) };
      attempts.push(attempt);
      options.onAttempt?.(attempt);
      const expectedVersion: ExpectedVersion = stream.exact ? stream.version : 'any';
      for (const until = Date.now() + giveUpMs; Date.now() < until; ) {
        try {
          const result = await options.store().append(stream.id, events, { expectedVersion });
          attempt.acked = result.nextExpectedVersion;
          options.onAck?.(attempt);
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
