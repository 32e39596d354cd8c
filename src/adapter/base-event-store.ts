import {
  InvalidArgumentError,
  NotSupportedError,
  type Operation,
  StoreClosedError,
} from '../contract/errors.js';
import type { Checkpoints, SubscribeOptions, Subscription } from '../contract/subscriptions.js';
import type {
  AppendOptions,
  AppendResult,
  Capabilities,
  DeleteStreamOptions,
  DeleteStreamResult,
  EventStore,
  NewEvent,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  RetentionResult,
  SetStreamMetadataOptions,
  Snapshot,
  SnapshotStore,
  StreamMetadata,
  StreamMetadataResult,
  TruncateStreamOptions,
} from '../contract/types.js';
import {
  type PreparedAppend,
  type PreparedReadAll,
  type PreparedReadStream,
  prepareAppend,
  prepareReadAll,
  prepareReadStream,
  validateStreamId,
} from '../contract/validate.js';
import {
  type PreparedDeleteStream,
  type PreparedSetStreamMetadata,
  type PreparedTruncateStream,
  prepareDeleteStream,
  prepareSetStreamMetadata,
  prepareTruncateStream,
} from '../contract/validate-lifecycle.js';
import { type PreparedSnapshot, prepareSnapshot } from '../contract/validate-snapshot.js';
import {
  type PreparedSubscribe,
  prepareSubscribe,
  validateCheckpointPosition,
  validateSubscriptionName,
} from '../contract/validate-subscribe.js';
import type { FollowItem, SubscriptionLease, TransactionalRunner } from '../subscriptions/hooks.js';
import { defaultPollDelayMs, InProcessCheckpoints, InProcessLease } from '../subscriptions/in-process.js';
import { SubscriptionRun } from '../subscriptions/subscription-run.js';
import { WakeSignal } from '../subscriptions/wake-signal.js';
import { Call, type CallContext } from './call-context.js';
import { CallTracker } from './call-tracker.js';

/** The deadline of one call when the adapter sets none: 30 seconds. */
export const DEFAULT_TIMEOUT_MS = 30_000;

/** The longest deadline `setTimeout` can hold (about 24.8 days). */
const MAX_TIMEOUT_MS = 2_147_483_647;

/** What every store built on {@link BaseEventStore} accepts. */
export interface BaseEventStoreOptions {
  /**
   * The deadline of each call, in milliseconds: an append, a `streamVersion`, or one pull of a read iterator.
   * When it passes, the call fails with `TIMEOUT` and its {@link CallContext.signal} aborts. Defaults to
   * {@link DEFAULT_TIMEOUT_MS}.
   */
  timeoutMs?: number;
}

/** The stream of a call for its error's context, when the caller passed a string (validation judges the rest). */
function streamOf(streamId: unknown): { streamId?: string } {
  return typeof streamId === 'string' ? { streamId } : {};
}

function checkTimeout(value: unknown): number {
  if (value === undefined) return DEFAULT_TIMEOUT_MS;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > MAX_TIMEOUT_MS) {
    throw new InvalidArgumentError(`timeoutMs must be an integer from 1 to ${MAX_TIMEOUT_MS}`, {
      argument: 'timeoutMs',
    });
  }
  return value;
}

/**
 * The base of every adapter. Its public methods are the {@link EventStore} contract: they check that the store is
 * open, validate the input against the contract and `this.capabilities`, answer what needs no backend (a read of
 * `maxCount: 0`), give each call a deadline, count the calls in flight for `close()`, and only then call the
 * adapter's protected methods, which receive input already validated and normalised:
 *
 * | public                 | protected (the adapter implements)       | default                          |
 * | ---------------------- | ---------------------------------------- | -------------------------------- |
 * | `append`               | `_append(prepared, call)`                | required                         |
 * | `readStream`           | `_readStream(prepared, call)`            | required                         |
 * | `readAll`              | `_readAll(prepared, call)`               | required                         |
 * | `streamVersion`        | `_streamVersion(streamId, call)`         | the last event of `_readStream`  |
 * | `deleteStream`         | `_deleteStream(prepared, call)`          | `NOT_SUPPORTED`                  |
 * | `truncateStream`       | `_truncateStream(prepared, call)`        | `NOT_SUPPORTED`                  |
 * | `getStreamMetadata`    | `_getStreamMetadata(streamId, call)`     | `NOT_SUPPORTED`                  |
 * | `setStreamMetadata`    | `_setStreamMetadata(prepared, call)`     | `NOT_SUPPORTED`                  |
 * | `enforceRetention`     | `_enforceRetention(call)`                | `NOT_SUPPORTED`                  |
 * | `snapshots.save`       | `_saveSnapshot(prepared, call)`          | `NOT_SUPPORTED`                  |
 * | `snapshots.load`       | `_loadSnapshot(streamId, call)`          | `NOT_SUPPORTED`                  |
 * | `checkpoints.load`     | `_loadCheckpoint(name, call)`            | a map in this store's memory     |
 * | `checkpoints.save`     | `_saveCheckpoint(name, position, call)`  | a map in this store's memory     |
 * | `checkpoints.delete`   | `_deleteCheckpoint(name, call)`          | a map in this store's memory     |
 * | `subscribe`: lease     | `_acquireLease(name, owner, ttlMs)`, `_releaseLease(name, owner)` | among this store's subscriptions |
 * | `subscribe`: wake-up   | `_listen(wake)`                          | none: appends through this store wake its subscriptions, and they poll |
 * | `subscribe`: polling   | `_pollDelayMs(idleRounds)`               | 25 ms, doubling to 1 s           |
 * | `subscribe`: coalescing | `_liveReadIntervalMs()`                 | 0: every wake-up reads at once   |
 * | `subscribe`: `'end'`   | `_lastPosition(call)`                    | reads `_readAll` to its end      |
 * | `subscribe`: exactly once | `_runTransactional(name, owner, position, run)` | `NOT_SUPPORTED`      |
 * | `subscribe`: delivery  | `_follow(after, prepared, signal)`       | none: pages of readAll/readStream |
 * | `close`                | `_close()`                               | nothing to release               |
 *
 * Subscriptions run on the shared engine (src/subscriptions): it reads through the public `readAll`/`readStream`,
 * so an adapter gets catch-up and live subscriptions from its reads alone. A backend that delivers subscriptions
 * itself (EventStoreDB's catch-up subscriptions) implements `_follow` instead, and the engine hands its items over. The defaults keep checkpoints and leases
 * in this store object, which is right for an in-process store; an adapter with a backend overrides them to store
 * both there (so that they survive the process and exclude other processes), `_listen` to wake subscriptions on the
 * backend's notifications, and `_runTransactional` (with `capabilities.transactionalSubscriptions`) for
 * exactly-once handlers.
 *
 * The lifecycle methods run only when the adapter declares `capabilities.lifecycle`, and the snapshot methods only
 * when it declares `capabilities.snapshots`; otherwise the base rejects them with `NOT_SUPPORTED` before validating
 * anything further. Snapshots have no in-process default on purpose: a snapshot kept beside the backend rather than
 * in it would survive a delete made through another store over the same backend, and a reader would fold the
 * deleted events back in. Without the capability, `handleCommand` simply reads whole streams.
 *
 * Every method added to the base later comes with a default, so an adapter written outside this package keeps
 * compiling and passing the suite when the base grows; it overrides the default when its backend does better.
 *
 * The protected methods may throw contract errors (`WrongExpectedVersionError` …) or the backend's own; they never
 * need to check for closing, validate, or time out. The `call` they receive carries the deadline and an abort
 * signal to pass to the driver (see {@link CallContext}).
 *
 * @example
 * class MapEventStore extends BaseEventStore {
 *   readonly capabilities = { maxEventsPerAppend: Infinity, maxEventBytes: 1 << 20, maxAppendBytes: Infinity,
 *     idempotencyWindow: 'stream' } as const;
 *   protected async _append(p: PreparedAppend): Promise<AppendResult> { … }
 *   protected async *_readStream(p: PreparedReadStream): AsyncIterable<RecordedEvent> { … }
 *   protected async *_readAll(p: PreparedReadAll): AsyncIterable<RecordedEvent> { … }
 * }
 */
export abstract class BaseEventStore implements EventStore {
  /** What the adapter declares; the base validates appends against it. */
  abstract readonly capabilities: Capabilities;
  readonly #calls: CallTracker;
  readonly #wake = new WakeSignal();
  readonly #subscriptions = new Set<SubscriptionRun>();
  #unlisten: Promise<() => Promise<void>> | undefined;
  #memoryCheckpoints: InProcessCheckpoints | undefined;
  #memoryLease: InProcessLease | undefined;

  /** The stream snapshots (see {@link SnapshotStore}): validated here, stored by `_saveSnapshot`/`_loadSnapshot`. */
  readonly snapshots: SnapshotStore;

  constructor(options: BaseEventStoreOptions = {}) {
    this.#calls = new CallTracker(checkTimeout(options.timeoutMs));
    this.snapshots = Object.freeze({
      save: (streamId: string, snapshot: Snapshot): Promise<void> =>
        this.#snapshot(
          'saveSnapshot',
          streamId,
          () => prepareSnapshot(streamId, snapshot, this.capabilities),
          (p, call) => this._saveSnapshot(p, call),
        ),
      load: (streamId: string): Promise<Snapshot | null> =>
        this.#snapshot(
          'loadSnapshot',
          streamId,
          () => validateStreamId(streamId),
          (id, call) => this._loadSnapshot(id, call),
        ),
    });
  }

  /**
   * The checkpoints of named subscriptions (see {@link Checkpoints}): names and positions are validated
   * (`INVALID_ARGUMENT`), then the adapter's `_loadCheckpoint` / `_saveCheckpoint` / `_deleteCheckpoint` run under
   * the call deadline.
   */
  readonly checkpoints: Checkpoints = {
    load: (name) => this.#checkpointCall(name, (n, call) => this._loadCheckpoint(n, call)),
    save: (name, position) =>
      this.#checkpointCall(name, (n, call) =>
        this._saveCheckpoint(n, validateCheckpointPosition(position, this.capabilities), call),
      ),
    delete: (name) => this.#checkpointCall(name, (n, call) => this._deleteCheckpoint(n, call)),
  };

  #checkpointCall<T>(name: unknown, run: (name: string, call: CallContext) => Promise<T>): Promise<T> {
    if (this.#calls.closing) return Promise.reject(new StoreClosedError({ operation: 'checkpoints' }));
    let valid: string;
    try {
      valid = validateSubscriptionName(name);
      return this.#calls.run('checkpoints', undefined, (call) => run(valid, call));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** The deadline of each call, in milliseconds (see {@link BaseEventStoreOptions.timeoutMs}). */
  get timeoutMs(): number {
    return this.#calls.timeoutMs;
  }

  /** True once `close()` began: a long-running loop in an adapter (polling, retrying) should stop. */
  protected get closing(): boolean {
    return this.#calls.closing;
  }

  append(streamId: string, events: readonly NewEvent[], options?: AppendOptions): Promise<AppendResult> {
    if (this.#calls.closing)
      return Promise.reject(new StoreClosedError({ operation: 'append', ...streamOf(streamId) }));
    let prepared: PreparedAppend;
    try {
      prepared = prepareAppend(streamId, events, options, this.capabilities);
    } catch (err) {
      return Promise.reject(err);
    }
    // An import's events all carry their recorded time (validation requires it of every event).
    if (prepared.events[0]?.createdAt !== undefined && this.capabilities.preserveCreatedAt !== true) {
      return Promise.reject(
        new NotSupportedError(
          `append('${prepared.streamId}', { preserveCreatedAt: true })`,
          'preserveCreatedAt',
        ),
      );
    }
    if (prepared.firstVersion !== undefined && this.capabilities.importFirstVersion !== true) {
      return Promise.reject(
        new NotSupportedError(
          `append('${prepared.streamId}', { firstVersion: ${prepared.firstVersion} })`,
          'importFirstVersion',
        ),
      );
    }
    return this.#calls
      .run('append', prepared.streamId, (call) => this._append(prepared, call))
      .then((result) => {
        if (this.#subscriptions.size > 0) this.#wake.notify();
        return result;
      });
  }

  readStream(streamId: string, options?: ReadStreamOptions): AsyncIterable<RecordedEvent> {
    return this.#calls.iterate('readStream', typeof streamId === 'string' ? streamId : undefined, (call) => {
      const prepared = prepareReadStream(streamId, options);
      return prepared.maxCount === 0 ? undefined : this._readStream(prepared, call);
    });
  }

  readAll(options?: ReadAllOptions): AsyncIterable<RecordedEvent> {
    return this.#calls.iterate('readAll', undefined, (call) => {
      const prepared = prepareReadAll(options, this.capabilities);
      return prepared.maxCount === 0 ? undefined : this._readAll(prepared, call);
    });
  }

  streamVersion(streamId: string): Promise<number> {
    if (this.#calls.closing)
      return Promise.reject(new StoreClosedError({ operation: 'streamVersion', ...streamOf(streamId) }));
    let id: string;
    try {
      id = validateStreamId(streamId);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#calls.run('streamVersion', id, (call) => this._streamVersion(id, call));
  }

  deleteStream(streamId: string, options?: DeleteStreamOptions): Promise<DeleteStreamResult> {
    return this.#lifecycle(
      'deleteStream',
      streamId,
      () => prepareDeleteStream(streamId, options),
      (p, call) => this._deleteStream(p, call),
    );
  }

  truncateStream(streamId: string, options: TruncateStreamOptions): Promise<void> {
    return this.#lifecycle(
      'truncateStream',
      streamId,
      () => prepareTruncateStream(streamId, options),
      (p, call) => this._truncateStream(p, call),
    );
  }

  getStreamMetadata(streamId: string): Promise<StreamMetadataResult> {
    return this.#lifecycle(
      'getStreamMetadata',
      streamId,
      () => validateStreamId(streamId),
      (id, call) => this._getStreamMetadata(id, call),
    );
  }

  setStreamMetadata(
    streamId: string,
    metadata: StreamMetadata,
    options?: SetStreamMetadataOptions,
  ): Promise<{ metadataVersion: number }> {
    return this.#lifecycle(
      'setStreamMetadata',
      streamId,
      () => prepareSetStreamMetadata(streamId, metadata, options),
      (p, call) => this._setStreamMetadata(p, call),
    );
  }

  enforceRetention(): Promise<RetentionResult> {
    return this.#lifecycle(
      'enforceRetention',
      undefined,
      () => undefined,
      (_, call) => this._enforceRetention(call),
    );
  }

  /** The shared path of the lifecycle methods: closed, capability, validation, then the adapter under a deadline. */
  #lifecycle<P, R>(
    operation: Operation,
    streamId: unknown,
    prepare: () => P,
    run: (prepared: P, call: CallContext) => Promise<R>,
    capability: 'lifecycle' | 'snapshots' = 'lifecycle',
  ): Promise<R> {
    if (this.#calls.closing) return Promise.reject(new StoreClosedError());
    if (this.capabilities[capability] !== true) {
      return Promise.reject(new NotSupportedError(operation, capability));
    }
    let prepared: P;
    try {
      prepared = prepare();
    } catch (err) {
      return Promise.reject(err);
    }
    const id = typeof streamId === 'string' ? streamId : undefined;
    return this.#calls.run(operation, id, (call) => run(prepared, call));
  }

  /** The path of `snapshots.save`/`load`: as a lifecycle method's, gated by `capabilities.snapshots`. */
  #snapshot<P, R>(
    operation: Operation,
    streamId: unknown,
    prepare: () => P,
    run: (prepared: P, call: CallContext) => Promise<R>,
  ): Promise<R> {
    return this.#lifecycle(operation, streamId, prepare, run, 'snapshots');
  }

  /**
   * Starts a subscription (see {@link EventStore.subscribe}) on the shared engine, over this store's reads and the
   * adapter's subscription hooks. Throws INVALID_ARGUMENT for bad options, NOT_SUPPORTED for `transactional` without
   * `capabilities.transactionalSubscriptions`, STORE_CLOSED after `close()`.
   */
  subscribe(options: SubscribeOptions): Subscription {
    if (this.#calls.closing) throw new StoreClosedError({ operation: 'subscribe' });
    const prepared = prepareSubscribe(options, this.capabilities);
    if (prepared.transactional && this.capabilities.transactionalSubscriptions !== true) {
      throw new NotSupportedError('subscribe({ transactional: true })', 'transactionalSubscriptions');
    }
    this.#unlisten ??= this._listen(() => this.#wake.notify()).catch(() => async () => {});
    const deadline = (): CallContext => new Call(Date.now() + this.timeoutMs);
    const lease: SubscriptionLease = {
      acquire: (name, owner, ttlMs) => this._acquireLease(name, owner, ttlMs),
      release: (name, owner) => this._releaseLease(name, owner),
    };
    const transactional: TransactionalRunner = (name, owner, position, run) =>
      this._runTransactional(name, owner, position, run);
    const run = new SubscriptionRun(prepared, {
      readAll: (after, maxCount, p) =>
        this.readAll({
          after,
          maxCount,
          ...(p.eventTypes || p.streamPrefix !== undefined
            ? {
                filter: {
                  ...(p.eventTypes ? { eventTypes: p.eventTypes } : {}),
                  ...(p.streamPrefix !== undefined ? { streamPrefix: p.streamPrefix } : {}),
                },
              }
            : {}),
        }),
      readStream: (stream, fromVersion, maxCount) => this.readStream(stream, { fromVersion, maxCount }),
      lastPosition: () => this.#calls.run('subscribe', undefined, (call) => this._lastPosition(call)),
      streamVersion: (stream) => this.streamVersion(stream),
      // Beside the call tracker: a subscription that stops while the store closes still saves its checkpoint.
      checkpoints: {
        load: (name) => this._loadCheckpoint(name, deadline()),
        save: (name, position) => this._saveCheckpoint(name, position, deadline()),
        delete: (name) => this._deleteCheckpoint(name, deadline()),
      },
      lease,
      wait: (seen, ms, signal) => this.#wake.wait(seen, ms, signal),
      epoch: () => this.#wake.epoch,
      pollDelayMs: (idle) => this._pollDelayMs(idle),
      liveReadIntervalMs: this._liveReadIntervalMs(),
      transactional: prepared.transactional ? transactional : undefined,
      follow: this._follow === undefined ? undefined : (after, p, signal) => this._follow!(after, p, signal),
    });
    this.#subscriptions.add(run);
    const forget = (): void => {
      this.#subscriptions.delete(run);
    };
    run.done.then(forget, forget);
    return run;
  }

  /**
   * Closes the store as {@link EventStore.close} documents: new calls are STORE_CLOSED at once, accepted calls
   * finish (each within its deadline), idle read iterators are ended, running subscriptions stop (each saves its
   * checkpoint after its in-flight handler), and then `_close()` releases what the adapter owns. Concurrent and
   * repeated calls share one promise.
   */
  close(): Promise<void> {
    return this.#calls.close(async () => {
      await Promise.all([...this.#subscriptions].map((s) => s.stop()));
      const unlisten = await this.#unlisten;
      await unlisten?.().catch(() => {});
      await this._close();
    });
  }

  /**
   * Appends a validated batch, atomically, applying the contract's concurrency and idempotency rules (see
   * `decideAppend` for a store that can read a stream's state in the same atomic step as its write). The batch is
   * within `capabilities`; `expectedVersion` is normalised (`'no_stream'` is 0); each event has a lower-case id
   * and its JSON serialised once.
   */
  protected abstract _append(prepared: PreparedAppend, call: CallContext): Promise<AppendResult>;

  /** The events of one stream, per the validated options. Never called with `maxCount: 0`. */
  protected abstract _readStream(
    prepared: PreparedReadStream,
    call: CallContext,
  ): AsyncIterable<RecordedEvent>;

  /** Every stream's events in global order, per the validated options. Never called with `maxCount: 0`. */
  protected abstract _readAll(prepared: PreparedReadAll, call: CallContext): AsyncIterable<RecordedEvent>;

  /**
   * The stream's current version, 0 when it has no events. The default reads the stream's last event through
   * `_readStream`; override it when the backend keeps the version at hand.
   */
  protected async _streamVersion(streamId: string, call: CallContext): Promise<number> {
    const last = this._readStream(
      { streamId, direction: 'backwards', fromVersion: undefined, maxCount: 1 },
      call,
    )[Symbol.asyncIterator]();
    try {
      const first = await last.next();
      return first.done ? 0 : first.value.version;
    } finally {
      await last.return?.();
    }
  }

  /**
   * Deletes a stream per {@link EventStore.deleteStream}: the expected-version check (`expectedVersionHolds`) and
   * the removal in one atomic step. Called only when `capabilities.lifecycle` is declared.
   */
  protected _deleteStream(prepared: PreparedDeleteStream, _call: CallContext): Promise<DeleteStreamResult> {
    return Promise.reject(new NotSupportedError(`deleteStream('${prepared.streamId}')`, 'lifecycle'));
  }

  /** Truncates a stream per {@link EventStore.truncateStream}; `before` is ≥ 1, its upper bound is checked here. */
  protected _truncateStream(prepared: PreparedTruncateStream, _call: CallContext): Promise<void> {
    return Promise.reject(new NotSupportedError(`truncateStream('${prepared.streamId}')`, 'lifecycle'));
  }

  /** Reads a stream's metadata per {@link EventStore.getStreamMetadata}. */
  protected _getStreamMetadata(streamId: string, _call: CallContext): Promise<StreamMetadataResult> {
    return Promise.reject(new NotSupportedError(`getStreamMetadata('${streamId}')`, 'lifecycle'));
  }

  /**
   * Writes a stream's metadata per {@link EventStore.setStreamMetadata}. Keys and ranges are validated; the checks
   * that need state (`truncateBefore` against the stream, the expected metadata version) are the adapter's.
   */
  protected _setStreamMetadata(
    prepared: PreparedSetStreamMetadata,
    _call: CallContext,
  ): Promise<{ metadataVersion: number }> {
    return Promise.reject(new NotSupportedError(`setStreamMetadata('${prepared.streamId}')`, 'lifecycle'));
  }

  /** Removes the data retention hides, per {@link EventStore.enforceRetention}. */
  protected _enforceRetention(_call: CallContext): Promise<RetentionResult> {
    return Promise.reject(new NotSupportedError('enforceRetention', 'lifecycle'));
  }

  /** The stored checkpoint of subscription `name`, or `undefined`. The default keeps checkpoints in this object. */
  protected async _loadCheckpoint(name: string, _call: CallContext): Promise<bigint | undefined> {
    this.#memoryCheckpoints ??= new InProcessCheckpoints();
    return this.#memoryCheckpoints.load(name);
  }

  /** Stores `position` as `name`'s checkpoint. */
  protected async _saveCheckpoint(name: string, position: bigint, _call: CallContext): Promise<void> {
    this.#memoryCheckpoints ??= new InProcessCheckpoints();
    return this.#memoryCheckpoints.save(name, position);
  }

  /** Removes `name`'s checkpoint (nothing to do when none is stored). */
  protected async _deleteCheckpoint(name: string, _call: CallContext): Promise<void> {
    this.#memoryCheckpoints ??= new InProcessCheckpoints();
    return this.#memoryCheckpoints.delete(name);
  }

  /**
   * Takes the lease of subscription `name` for `owner` until `ttlMs` from now when it is free, expired, or already
   * `owner`'s; answers whether `owner` holds it. The default excludes this store's own subscriptions only.
   */
  protected _acquireLease(name: string, owner: string, ttlMs: number): Promise<boolean> {
    this.#memoryLease ??= new InProcessLease();
    return this.#memoryLease.acquire(name, owner, ttlMs);
  }

  /** Frees the lease of `name` if `owner` holds it. */
  protected _releaseLease(name: string, owner: string): Promise<void> {
    this.#memoryLease ??= new InProcessLease();
    return this.#memoryLease.release(name, owner);
  }

  /**
   * Starts listening to the backend's own hint that new events may be readable, calling `wake` on each; resolves
   * to a function that stops listening (called by `close()`). Called once, at the first `subscribe`. The default
   * listens to nothing: appends through this store wake its subscriptions anyway, and they poll.
   */
  protected async _listen(_wake: () => void): Promise<() => Promise<void>> {
    return async () => {};
  }

  /**
   * The backend's own delivery of a subscription, if it has one (see `Follow` in src/subscriptions/hooks.ts): events
   * after `after` (a readAll position, or a version when `prepared.stream` is set), filtered as `prepared` asks and
   * hidden as readAll hides them, with checkpoint-reached and caught-up markers, read with flow control, until
   * `signal` aborts. Not implemented by default: the engine then reads pages and polls.
   */
  protected _follow?(
    after: bigint,
    prepared: PreparedSubscribe,
    signal: AbortSignal,
  ): AsyncIterable<FollowItem>;

  /** How long a caught-up subscription waits before reading again, after `idleRounds` reads that found nothing. */
  protected _pollDelayMs(idleRounds: number): number {
    return defaultPollDelayMs(idleRounds);
  }

  /**
   * The shortest time between the starts of two live reads of one subscription: wake-ups that come sooner wait
   * for the rest of it and share one read. 0 (the default): every wake-up reads at once.
   */
  protected _liveReadIntervalMs(): number {
    return 0;
  }

  /**
   * The position of the last event readAll returns now, 0n when none: where `from: 'end'` starts. The default
   * reads `_readAll` to its end; override it when the backend knows its head.
   */
  protected async _lastPosition(call: CallContext): Promise<bigint> {
    let last = 0n;
    const all = {
      after: 0n,
      maxCount: Number.POSITIVE_INFINITY,
      eventTypes: undefined,
      streamPrefix: undefined,
    };
    for await (const e of this._readAll(all, call)) last = e.position;
    return last;
  }

  /**
   * Handles one event of a `transactional` subscription in one backend transaction that also saves `position` as
   * `name`'s checkpoint, if `owner` still holds the lease (else commits nothing and returns false). `run` gets the
   * transaction handle the handler sees as `context.tx`; its error is rethrown unchanged. Called only when the
   * adapter declares `capabilities.transactionalSubscriptions`.
   */
  protected _runTransactional(
    name: string,
    _owner: string,
    _position: bigint,
    _run: (tx: unknown) => Promise<void>,
  ): Promise<boolean> {
    return Promise.reject(
      new NotSupportedError(`subscribe('${name}', transactional)`, 'transactionalSubscriptions'),
    );
  }

  /**
   * Stores the stream's snapshot per {@link SnapshotStore.save}, replacing any before it. The state is validated,
   * serialised once (`stateJson`) and within `maxEventBytes`. Called only when `capabilities.snapshots` is declared;
   * with `capabilities.lifecycle`, a tombstoned stream is `STREAM_DELETED`, and a delete must remove the snapshot.
   */
  protected _saveSnapshot(prepared: PreparedSnapshot, _call: CallContext): Promise<void> {
    return Promise.reject(new NotSupportedError(`snapshots.save('${prepared.streamId}')`, 'snapshots'));
  }

  /** The stream's snapshot per {@link SnapshotStore.load}, or `null`. */
  protected _loadSnapshot(streamId: string, _call: CallContext): Promise<Snapshot | null> {
    return Promise.reject(new NotSupportedError(`snapshots.load('${streamId}')`, 'snapshots'));
  }

  /**
   * Releases what the store owns (a pool or client it built), once every accepted call has settled. The default
   * has nothing to release. A client the caller passed in stays open.
   */
  protected async _close(): Promise<void> {}
}
