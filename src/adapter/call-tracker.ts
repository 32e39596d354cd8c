import { type Operation, StoreClosedError, TimeoutError } from '../contract/errors.js';
import { Call, type CallContext } from './call-context.js';

/** Something in flight with a deadline: a call, or one pull of a read iterator. */
interface Watched {
  readonly deadline: number;
  /** The deadline passed: fail with TIMEOUT and stop being watched. */
  expire(): void;
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * The base's bookkeeping of calls: their deadlines, how many are in flight, the open read iterators, and the
 * close sequence that waits for them. Internal to {@link BaseEventStore}; adapters never see it.
 *
 * A call counts as in flight from the moment it is accepted until it settles or its deadline passes, whichever
 * comes first. That bound is what lets `close()` always resolve: a driver that never answers costs one deadline.
 *
 * Every call of a store has the same timeout, so deadlines come in the order calls start, and one timer, armed
 * for the oldest call in flight, serves them all: a call costs a set insertion, not a timer of its own.
 */
export class CallTracker {
  readonly timeoutMs: number;
  #closing = false;
  #closed: Promise<void> | undefined;
  /** Calls in flight, in the order they started, which is their deadlines' order. */
  readonly #watched = new Set<Watched>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #idle: Array<() => void> = [];
  readonly #iterators = new Set<StoreIterator<unknown>>();

  constructor(timeoutMs: number) {
    this.timeoutMs = timeoutMs;
  }

  /** True once `close()` began. */
  get closing(): boolean {
    return this.#closing;
  }

  watch(w: Watched): void {
    this.#watched.add(w);
    if (this.#timer === undefined) this.#arm(w.deadline);
  }

  unwatch(w: Watched): void {
    if (!this.#watched.delete(w)) return;
    if (this.#watched.size === 0 && this.#idle.length > 0) {
      for (const resolve of this.#idle.splice(0)) resolve();
    }
  }

  /**
   * The timer never keeps the process alive by itself: a call waiting on a backend is kept alive by that
   * backend's socket, and a store with nothing in flight must not hold the process open.
   */
  #arm(due: number): void {
    this.#timer = setTimeout(this.#fire, Math.max(0, due - Date.now()));
    this.#timer.unref();
  }

  readonly #fire = (): void => {
    this.#timer = undefined;
    const now = Date.now();
    for (const w of this.#watched) {
      if (w.deadline > now) {
        this.#arm(w.deadline);
        return;
      }
      w.expire();
    }
  };

  /**
   * Runs one call under a deadline: `run`'s outcome, or TIMEOUT when the deadline passes first (then the call's
   * signal aborts, with the TimeoutError as its reason).
   */
  run<T>(
    operation: Operation,
    streamId: string | undefined,
    run: (call: CallContext) => Promise<T>,
  ): Promise<T> {
    const call = new Call(Date.now() + this.timeoutMs);
    return new Promise<T>((resolve, reject) => {
      const entry: Watched = {
        deadline: call.deadline,
        expire: () => {
          const err = new TimeoutError(operation, this.timeoutMs, { streamId });
          call.abort(err);
          reject(err);
          this.unwatch(entry);
        },
      };
      this.watch(entry);
      let work: Promise<T>;
      try {
        work = run(call);
      } catch (err) {
        work = Promise.reject(err);
      }
      // The caller's reaction is queued before close() can learn that this call settled.
      work.then(
        (value) => {
          resolve(value);
          this.unwatch(entry);
        },
        (err: unknown) => {
          reject(err);
          this.unwatch(entry);
        },
      );
    });
  }

  /**
   * A read iterator. `open` runs at the first pull (so bad options reject there, as the contract says): it
   * validates and returns the adapter's iterable, or `undefined` when there is nothing to read.
   */
  iterate<T>(
    operation: Operation,
    streamId: string | undefined,
    open: (call: CallContext) => AsyncIterable<T> | undefined,
  ): AsyncIterableIterator<T> {
    return new StoreIterator<T>(this, operation, streamId, open);
  }

  register(it: StoreIterator<unknown>): void {
    this.#iterators.add(it);
  }

  unregister(it: StoreIterator<unknown>): void {
    this.#iterators.delete(it);
  }

  /**
   * Stops accepting calls, releases the read iterators that are not pulling, waits until every accepted call
   * has settled (or passed its deadline), then runs `release`. Every later call returns the same promise.
   */
  close(release: () => Promise<void>): Promise<void> {
    if (this.#closed === undefined) {
      this.#closing = true;
      for (const it of this.#iterators) it.releaseIfIdle();
      this.#closed = this.#whenIdle().then(release);
    }
    return this.#closed;
  }

  #whenIdle(): Promise<void> {
    if (this.#watched.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }
}

interface Request<T> {
  serve: () => Promise<IteratorResult<T>>;
  resolve: (result: IteratorResult<T>) => void;
  reject: (err: unknown) => void;
}

/**
 * The iterator `readStream` and `readAll` return. Each pull is one call: it has its own deadline and counts in
 * flight until it settles, so a page in flight when `close()` begins is delivered; the pull after that is
 * STORE_CLOSED. Pulls are served one at a time, in order, as an async generator serves them.
 */
class StoreIterator<T> implements AsyncIterableIterator<T>, Watched {
  readonly #tracker: CallTracker;
  readonly #operation: Operation;
  readonly #streamId: string | undefined;
  #open: ((call: CallContext) => AsyncIterable<T> | undefined) | undefined;
  readonly #call = new Call(0);
  #inner: AsyncIterator<T> | undefined;
  #done = false;
  #released = false;
  /** A pull or return is being served; requests that arrive meanwhile wait in `#queue`. */
  #busy = false;
  #queue: Array<Request<T>> = [];
  /** The pull in flight: the adapter's promise, and how to fail the caller's when the deadline passes. */
  #pending: Promise<IteratorResult<T>> | undefined;
  #resolvePull: ((result: IteratorResult<T>) => void) | undefined;
  #rejectPull: ((err: unknown) => void) | undefined;
  /** Counts pulls, so that a pull's late answer after its deadline is told from the current pull's. */
  #pulls = 0;

  constructor(
    tracker: CallTracker,
    operation: Operation,
    streamId: string | undefined,
    open: (call: CallContext) => AsyncIterable<T> | undefined,
  ) {
    this.#tracker = tracker;
    this.#operation = operation;
    this.#streamId = streamId;
    this.#open = open;
  }

  get deadline(): number {
    return this.#call.deadline;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  next(): Promise<IteratorResult<T>> {
    return this.#busy ? this.#enqueue(() => this.#next()) : this.#next();
  }

  return(): Promise<IteratorResult<T>> {
    return this.#busy ? this.#enqueue(() => this.#return()) : this.#return();
  }

  #enqueue(serve: () => Promise<IteratorResult<T>>): Promise<IteratorResult<T>> {
    return new Promise((resolve, reject) => this.#queue.push({ serve, resolve, reject }));
  }

  #dequeue(): void {
    if (this.#busy) return;
    const request = this.#queue.shift();
    request?.serve().then(request.resolve, request.reject);
  }

  #next(): Promise<IteratorResult<T>> {
    if (this.#done) return Promise.resolve(DONE);
    if (this.#tracker.closing) return this.#closed();
    const call = this.#call;
    call.deadline = Date.now() + this.#tracker.timeoutMs;
    if (this.#inner === undefined) {
      const open = this.#open!;
      this.#open = undefined;
      let iterable: AsyncIterable<T> | undefined;
      try {
        iterable = open(call);
      } catch (err) {
        this.#done = true;
        return Promise.reject(err);
      }
      if (iterable === undefined) {
        this.#done = true;
        return Promise.resolve(DONE);
      }
      this.#inner = iterable[Symbol.asyncIterator]();
      this.#tracker.register(this as StoreIterator<unknown>);
    }
    const inner = this.#inner;
    this.#busy = true;
    this.#tracker.watch(this);
    let pending: Promise<IteratorResult<T>>;
    try {
      pending = inner.next();
    } catch (err) {
      pending = Promise.reject(err);
    }
    this.#pending = pending;
    const pull = ++this.#pulls;
    return new Promise<IteratorResult<T>>((resolve, reject) => {
      this.#resolvePull = resolve;
      this.#rejectPull = reject;
      pending.then(
        (result) => this.#pulled(pull, result),
        (err: unknown) => this.#failed(pull, err),
      );
    });
  }

  #pulled(pull: number, result: IteratorResult<T>): void {
    if (pull !== this.#pulls || this.#resolvePull === undefined) return; // the deadline passed first
    const resolve = this.#resolvePull;
    this.#settlePull();
    if (result.done) {
      this.#finish();
      this.#released = true;
    } else if (this.#tracker.closing) {
      // The page was in flight when close() began: deliver it, and end the adapter's iteration now.
      this.releaseIfIdle();
    }
    resolve(result);
    this.#tracker.unwatch(this);
    this.#dequeue();
  }

  #failed(pull: number, err: unknown): void {
    if (pull !== this.#pulls || this.#rejectPull === undefined) return;
    const reject = this.#rejectPull;
    this.#settlePull();
    this.#finish();
    reject(err);
    this.#tracker.unwatch(this);
    this.#dequeue();
  }

  /** The pull's deadline passed: TIMEOUT, and the adapter's iteration ends once its pull settles. */
  expire(): void {
    const reject = this.#rejectPull;
    const pending = this.#pending;
    if (reject === undefined || pending === undefined) {
      this.#tracker.unwatch(this);
      return;
    }
    this.#settlePull();
    const err = new TimeoutError(this.#operation, this.#tracker.timeoutMs, { streamId: this.#streamId });
    this.#call.abort(err);
    this.#finish();
    const release = () => this.#releaseInner();
    void pending.then(release, release);
    reject(err);
    this.#tracker.unwatch(this);
    this.#dequeue();
  }

  #settlePull(): void {
    this.#busy = false;
    this.#resolvePull = undefined;
    this.#rejectPull = undefined;
    this.#pending = undefined;
  }

  #return(): Promise<IteratorResult<T>> {
    this.#finish();
    if (this.#released || this.#inner === undefined) return Promise.resolve(DONE);
    this.#busy = true;
    return this.#releaseInner().then(() => {
      this.#busy = false;
      this.#dequeue();
      return DONE;
    });
  }

  /** A pull after close() began: STORE_CLOSED, once the adapter's iteration has ended. */
  #closed(): Promise<IteratorResult<T>> {
    this.#finish();
    this.#busy = true;
    return this.#releaseInner().then(() => {
      this.#busy = false;
      this.#dequeue();
      throw new StoreClosedError({ operation: this.#operation, streamId: this.#streamId });
    });
  }

  /** Called by close(): ends the adapter's iteration unless a pull is in flight (that pull ends it after). */
  releaseIfIdle(): void {
    if (this.#busy || this.#released || this.#inner === undefined) return;
    void this.#releaseInner();
  }

  #finish(): void {
    this.#done = true;
    // Tells a driver streaming for this iteration that nobody reads on (an AbortError as the reason).
    this.#call.abort(undefined);
    this.#tracker.unregister(this as StoreIterator<unknown>);
  }

  /** Ends the adapter's iteration (its `finally` blocks run), as a call of its own under a deadline. */
  async #releaseInner(): Promise<void> {
    const inner = this.#inner;
    if (this.#released || inner === undefined) return;
    this.#released = true;
    this.#tracker.unregister(this as StoreIterator<unknown>);
    if (inner.return === undefined) return;
    await this.#tracker
      .run(this.#operation, this.#streamId, async () => {
        await inner.return!();
      })
      .catch(() => {});
  }
}
