import type { Checkpoints, RecordedEvent } from '../contract/index.js';
import type { PreparedSubscribe } from '../contract/validate-subscribe.js';

/**
 * The lease that keeps one active instance per subscription name. `acquire` takes the lease for `owner` when it
 * is free or expired, or extends it when `owner` already holds it, until `ttlMs` from now; it answers whether
 * `owner` holds it. `release` frees it if `owner` holds it. Both may throw contract errors (`UNAVAILABLE` …), which
 * the engine retries.
 */
export interface SubscriptionLease {
  acquire(name: string, owner: string, ttlMs: number): Promise<boolean>;
  release(name: string, owner: string): Promise<void>;
}

/**
 * One event handled inside a backend transaction together with its checkpoint (`transactional: true`): `run`
 * receives the adapter's transaction handle (what the handler gets as `context.tx`); the adapter commits the
 * handler's writes and the checkpoint `position` of `name` together, or neither. It rethrows the handler's error
 * unchanged. When `owner` no longer holds the lease, it commits nothing and returns false.
 */
export type TransactionalRunner = (
  name: string,
  owner: string,
  position: bigint,
  run: (tx: unknown) => Promise<void>,
) => Promise<boolean>;

/**
 * What a backend that delivers events itself ({@link SubscriptionBackend.follow}) hands the engine, in order:
 *
 * - `events`: the next events (at least one), already filtered and checked against their streams' metadata as readAll
 *   would be;
 * - `checkpoint`: every event at or before `position` that the subscription asks for has been handed over before
 *   this item (a server's "checkpoint reached" on a filtered subscription): the engine may resume after it;
 * - `caughtUp`: every event stored when the subscription opened has been handed over before this item;
 * - `idle`: caught up, and nothing more is at hand right now (the engine saves its checkpoint then).
 */
export type FollowItem =
  | { kind: 'events'; events: readonly RecordedEvent[] }
  | { kind: 'checkpoint'; position: bigint }
  | { kind: 'caughtUp' }
  | { kind: 'idle' };

/**
 * Delivery pushed by the backend: events after `after` (a readAll position, or a version with `prepared.stream`),
 * then live ones, until `signal` aborts (the iterator then ends) or the backend fails (it throws a contract error;
 * the engine retries `UNAVAILABLE`/`TIMEOUT` by calling `follow` again after the last handled position). The engine
 * pulls the next item only after the handler settled for every event of the last one, so the iterator must read
 * its source with flow control and state how many events it holds at most.
 */
export type Follow = (
  after: bigint,
  prepared: PreparedSubscribe,
  signal: AbortSignal,
) => AsyncIterable<FollowItem>;

/** What the engine needs from a store: its reads and the adapter's subscription hooks. */
export interface SubscriptionBackend {
  /** One page of the global order after `after`, filtered as the subscription asks. */
  readAll(after: bigint, maxCount: number, prepared: PreparedSubscribe): AsyncIterable<RecordedEvent>;
  /** One page of a stream from `fromVersion`. */
  readStream(stream: string, fromVersion: number, maxCount: number): AsyncIterable<RecordedEvent>;
  /** The position of the last event readAll returns now (0n when none): where `from: 'end'` starts. */
  lastPosition(): Promise<bigint>;
  streamVersion(stream: string): Promise<number>;
  checkpoints: Checkpoints;
  lease: SubscriptionLease;
  /** New events may be readable since the epoch was `seen`: resolves then, after `ms`, or when `signal` aborts. */
  wait(seen: number, ms: number, signal: AbortSignal): Promise<void>;
  /** The wake-up epoch now (see {@link WakeSignal}). */
  epoch(): number;
  /** How long to wait for new events before reading again, after `idleRounds` reads that found none. */
  pollDelayMs(idleRounds: number): number;
  /**
   * The shortest time between the starts of two live reads (after a read that came back short): wake-ups that come
   * sooner are coalesced into one read, so a subscriber under a stream of appends reads batches instead of taking
   * backend time from the writers with a read per commit. Adds at most this much latency under load, none when idle.
   */
  liveReadIntervalMs: number;
  transactional: TransactionalRunner | undefined;
  /**
   * The backend's own delivery, when the adapter has one: the engine then uses it instead of reading pages and
   * waiting on `wait`/`pollDelayMs`.
   */
  follow: Follow | undefined;
}
