import type { ReadAllFilter, RecordedEvent } from './types.js';

/**
 * Where a subscription to the global order starts when it has no stored checkpoint: `'start'` (the first event),
 * `'end'`, or right after a readAll position.
 *
 * `'end'` starts after the last event readAll returns when the subscription starts, so every event committed
 * after that is delivered, including one whose append began (and took its position) before. An event that readAll
 * could not return yet, because it lies behind an append still in flight, is delivered too: `'end'` may hand over a
 * few events committed just before the subscription started, and never misses one committed after.
 */
export type SubscribeFrom = 'start' | 'end' | { after: bigint };

/** Where a subscription to one stream starts: its first event, its end, or right after a version. */
export type StreamSubscribeFrom = 'start' | 'end' | { afterVersion: number };

/**
 * What a handler receives beside the event.
 *
 * `tx` is set only for a `transactional: true` subscription, and is the backend's transaction (see
 * {@link SubscribeOptions.transactional}): on PostgreSQL a client inside an open transaction
 * (`{ query(text, values) }`), in which the store saves the checkpoint before it commits; on DynamoDB the
 * checkpoint's `TransactWriteItem`, for the handler to add to its own `TransactWriteItems` call.
 */
export interface SubscriptionContext {
  /** The subscription's name, `undefined` for an unnamed one. */
  readonly name: string | undefined;
  /** The backend's transaction for a transactional subscription; `undefined` otherwise. */
  readonly tx: unknown;
}

/** How often a named subscription saves its checkpoint. It saves when either bound is reached. */
export interface CheckpointPolicy {
  /** Save after this many handled events (an integer ≥ 1). Defaults to {@link DEFAULT_CHECKPOINT_EVENTS}. */
  everyEvents?: number;
  /** Save when this many milliseconds passed since the last save (an integer ≥ 1). Defaults to {@link DEFAULT_CHECKPOINT_MS}. */
  everyMs?: number;
}

/** How a subscription retries a backend that fails (`UNAVAILABLE`, `TIMEOUT`): exponential backoff. */
export interface SubscriptionRetry {
  /** Consecutive failures tolerated before `done` rejects with the last one (an integer ≥ 0). Defaults to 10. */
  attempts?: number;
  /** The first wait, doubled after each failure (an integer ≥ 1). Defaults to 100 ms. */
  initialDelayMs?: number;
  /** The longest wait (an integer ≥ 1). Defaults to 5,000 ms. */
  maxDelayMs?: number;
}

/** The default checkpoint interval in events. */
export const DEFAULT_CHECKPOINT_EVENTS = 100;
/** The default checkpoint interval in milliseconds. */
export const DEFAULT_CHECKPOINT_MS = 1_000;
/** Events held in memory at most by one subscription, by default: one page of reads. */
export const DEFAULT_SUBSCRIPTION_PAGE_SIZE = 1_000;
/** How long a named subscription's lease lasts without renewal, by default. */
export const DEFAULT_LEASE_MS = 10_000;

/** What {@link EventStore.subscribe} takes. */
export interface SubscribeOptions {
  /**
   * Called with each event, one at a time: the next event is handed over only after the returned promise settles.
   * A throw (or rejection) stops the subscription: `done` rejects with it, and the checkpoint stays before the event.
   */
  handler: (event: RecordedEvent, context: SubscriptionContext) => Promise<void> | void;
  /**
   * Where to start when no checkpoint is stored under `name`. Defaults to `'start'`. With `stream`, a version
   * (`{ afterVersion }`) rather than a position (`{ after }`).
   */
  from?: SubscribeFrom | StreamSubscribeFrom;
  /**
   * A durable subscription's name: a non-empty string without control characters, at most 200 characters. It
   * resumes after its stored checkpoint, saves one as it goes ({@link SubscribeOptions.checkpoint}), and only one
   * instance per name handles events at a time (the others wait and take over).
   */
  name?: string;
  /** Only these events, as {@link ReadAllOptions.filter}. Not with `stream`. */
  filter?: ReadAllFilter;
  /** Follow one stream, in version order, instead of the global order. Not with `filter`. */
  stream?: string;
  /** How often a named subscription saves its checkpoint. */
  checkpoint?: CheckpointPolicy;
  /**
   * Events read per page, and so the most events the subscription holds in memory (an integer from 1 to 10,000).
   * Defaults to {@link DEFAULT_SUBSCRIPTION_PAGE_SIZE}.
   */
  pageSize?: number;
  /** How a backend failure is retried. */
  retry?: SubscriptionRetry;
  /**
   * How long a named subscription's lease lasts without renewal, in milliseconds (an integer from 100 to
   * 3,600,000); it is renewed every third of that. An instance that dies is replaced within this bound plus one
   * renewal interval. Defaults to {@link DEFAULT_LEASE_MS}.
   */
  leaseMs?: number;
  /**
   * Exactly-once effects: each event is handled inside one backend transaction, which also saves the checkpoint,
   * so the handler's writes and the checkpoint commit together (see {@link SubscriptionContext.tx}). Needs `name`,
   * and an adapter that declares `capabilities.transactionalSubscriptions` (otherwise `NOT_SUPPORTED`).
   */
  transactional?: boolean;
}

/** A running subscription. */
export interface Subscription {
  /** The subscription's name, `undefined` for an unnamed one. */
  readonly name: string | undefined;
  /**
   * Resolves once every event stored when the subscription started (from its starting point) has been handled.
   * Rejects as `done` does when the subscription fails first, and resolves on `stop()` if it never caught up.
   */
  readonly caughtUp: Promise<void>;
  /**
   * Resolves after `stop()` (or the store's `close()`); rejects with the handler's error, or with a contract error
   * (`UNAVAILABLE`, `TIMEOUT` …) that the retries could not overcome.
   */
  readonly done: Promise<void>;
  /**
   * Stops: no further event is handed over, the in-flight handler finishes, the checkpoint is saved at the last
   * handled event (or at a later position up to which the backend reported that nothing else matches the filter,
   * such as EventStoreDB's checkpoint reached: resuming from either delivers the same events), and the lease is
   * released so another instance takes over at once. Resolves when all of that is done (never rejects: see `done`
   * for how the subscription ended). Idempotent.
   */
  stop(): Promise<void>;
}

/**
 * The stored checkpoints of named subscriptions: the position (for a stream subscription, the version) of the
 * last event a subscription handled, or a later position with no further event the subscription wants before it. The store's subscriptions use it; a handler may use it too.
 */
export interface Checkpoints {
  /** The stored checkpoint, or `undefined` when none is stored. */
  load(name: string): Promise<bigint | undefined>;
  /** Stores `position` as `name`'s checkpoint (a bigint ≥ 0), replacing the one stored. */
  save(name: string, position: bigint): Promise<void>;
  /** Removes `name`'s checkpoint; the subscription then starts from its `from` again. */
  delete(name: string): Promise<void>;
}
