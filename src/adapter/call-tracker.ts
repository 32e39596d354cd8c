import { StoreClosedError, TimeoutError } from '../contract/errors.js';
import { Call, type CallContext } from './call-context.js';

const noop = (): void => {};

/**
 * The base's bookkeeping of calls: their deadlines, how many are in flight, the open read iterators, and the
 * close sequence that waits for them. Internal to {@link BaseEventStore}; adapters never see it.
 *
 * A call counts as in flight from the moment it is accepted until it settles or its deadline passes, whichever
 * comes first. That bound is what lets `close()` always resolve: a driver that never answers costs one deadline.
 */
export class CallTracker {
  readonly timeoutMs: number;
  #closing = false;
  #closed: Promise<void> | undefined;
  #active = 0;
  #idle: Array<() => void> = [];
  readonly #iterators = new Set<StoreIterator<unknown>>();

  constructor(timeoutMs: number) {
    this.timeoutMs = timeoutMs;
  }

  /** True once `close()` began. */
  get closing(): boolean {
    return this.#closing;
  }

  begin(): void {
    this.#active++;
  }

  end(): void {
    if (--this.#active === 0 && this.#idle.length > 0) {
      for (const resolve of this.#idle.splice(0)) resolve();
    }
  }

  /**
   * Runs one call under a deadline: `run`'s outcome, or TIMEOUT when the deadline passes first (then the call's
   * signal aborts). Counted in flight until one of the two happens.
   */
  run<T>(
    operation: string,
    streamId: string | undefined,
    run: (call: CallContext) => Promise<T>,
    call: Call = new Call(Date.now() + this.timeoutMs),
  ): Promise<T> {
    this.begin();
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const settle = (): boolean => {
        if (settled) return false;
        settled = true;
        clearTimeout(timer);
        this.end();
        return true;
      };
      const timer = setTimeout(
        () => {
          const err = new TimeoutError(operation, this.timeoutMs, { streamId });
          if (settle()) {
            call.abort(err);
            reject(err);
          }
        },
        Math.max(0, call.deadline - Date.now()),
      );
      let work: Promise<T>;
      try {
        work = run(call);
      } catch (err) {
        work = Promise.reject(err);
      }
      work.then(
        (value) => {
          if (settle()) resolve(value);
        },
        (err: unknown) => {
          if (settle()) reject(err);
        },
      );
    });
  }

  /**
   * A read iterator. `open` runs at the first pull (so bad options reject there, as the contract says): it
   * validates and returns the adapter's iterable, or `undefined` when there is nothing to read.
   */
  iterate<T>(
    operation: string,
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
    if (this.#active === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }
}

/**
 * The iterator `readStream` and `readAll` return. Each pull is one call: it has its own deadline and counts in
 * flight until it settles, so a page in flight when `close()` begins is delivered; the pull after that is
 * STORE_CLOSED. Pulls are served one at a time, in order, as an async generator does.
 */
class StoreIterator<T> implements AsyncIterableIterator<T> {
  readonly #tracker: CallTracker;
  readonly #operation: string;
  readonly #streamId: string | undefined;
  #open: ((call: CallContext) => AsyncIterable<T> | undefined) | undefined;
  #call: Call | undefined;
  #inner: AsyncIterator<T> | undefined;
  #done = false;
  #pulling = false;
  #released = false;
  /** The pull or return being served; the next one waits for it. */
  #busy: Promise<unknown> | undefined;

  constructor(
    tracker: CallTracker,
    operation: string,
    streamId: string | undefined,
    open: (call: CallContext) => AsyncIterable<T> | undefined,
  ) {
    this.#tracker = tracker;
    this.#operation = operation;
    this.#streamId = streamId;
    this.#open = open;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  next(): Promise<IteratorResult<T>> {
    return this.#serve(() => this.#pull());
  }

  return(): Promise<IteratorResult<T>> {
    return this.#serve(async () => {
      this.#finish();
      await this.#releaseInner();
      return { done: true, value: undefined };
    });
  }

  #serve(fn: () => Promise<IteratorResult<T>>): Promise<IteratorResult<T>> {
    const p = this.#busy === undefined ? fn() : this.#busy.then(fn, fn);
    const busy = p.then(noop, noop);
    this.#busy = busy;
    void busy.then(() => {
      if (this.#busy === busy) this.#busy = undefined;
    });
    return p;
  }

  async #pull(): Promise<IteratorResult<T>> {
    if (this.#done) return { done: true, value: undefined };
    if (this.#tracker.closing) {
      this.#finish();
      await this.#releaseInner();
      throw new StoreClosedError();
    }
    const tracker = this.#tracker;
    if (this.#inner === undefined) {
      const open = this.#open!;
      this.#open = undefined;
      this.#call = new Call(Date.now() + tracker.timeoutMs);
      let iterable: AsyncIterable<T> | undefined;
      try {
        iterable = open(this.#call);
      } catch (err) {
        this.#done = true;
        throw err;
      }
      if (iterable === undefined) {
        this.#done = true;
        return { done: true, value: undefined };
      }
      this.#inner = iterable[Symbol.asyncIterator]();
      tracker.register(this as StoreIterator<unknown>);
    }
    const inner = this.#inner;
    const call = this.#call!;
    call.deadline = Date.now() + tracker.timeoutMs;
    let pending: Promise<IteratorResult<T>> | undefined;
    this.#pulling = true;
    let result: IteratorResult<T>;
    try {
      result = await tracker.run(this.#operation, this.#streamId, () => (pending = inner.next()), call);
    } catch (err) {
      this.#pulling = false;
      this.#finish();
      // After a timeout the adapter's pull may still be running: end its iteration once that pull settles.
      if (pending !== undefined) {
        void pending.then(
          () => this.#releaseInner(),
          () => this.#releaseInner(),
        );
      }
      throw err;
    }
    this.#pulling = false;
    if (result.done) {
      this.#finish();
      this.#released = true;
      return result;
    }
    // The page was in flight when close() began: deliver it, and end the adapter's iteration now.
    if (tracker.closing) this.releaseIfIdle();
    return result;
  }

  /** Called by close(): ends the adapter's iteration unless a pull is in flight (that pull ends it after). */
  releaseIfIdle(): void {
    if (this.#pulling || this.#released || this.#inner === undefined) return;
    void this.#releaseInner();
  }

  #finish(): void {
    this.#done = true;
    // Tells a driver streaming for this iteration that nobody reads on (an AbortError as the reason).
    this.#call?.abort(undefined);
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
      .catch(noop);
  }
}
