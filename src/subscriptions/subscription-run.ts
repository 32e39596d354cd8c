import { randomUUID } from 'node:crypto';
import {
  isEventStoreError,
  type RecordedEvent,
  type Subscription,
  type SubscriptionContext,
} from '../contract/index.js';
import type { PreparedSubscribe } from '../contract/validate-subscribe.js';
import type { FollowItem, SubscriptionBackend } from './hooks.js';
import { LeaseKeeper } from './lease-keeper.js';
import { pause } from './wake-signal.js';

/** Thrown inside the run when it must end quietly (stop requested, lease lost, store closing). */
class Interrupted extends Error {}

/** Backend failures worth retrying: the backend was unreachable or slow, not wrong. */
function retryable(err: unknown): boolean {
  return isEventStoreError(err, 'UNAVAILABLE') || isEventStoreError(err, 'TIMEOUT');
}

/** A promise that never reports unhandled: its rejection is the caller's to observe, or not. */
function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

/**
 * One subscription: the engine every adapter shares. It reads pages of `pageSize` events (readAll after its
 * position, or readStream after its version), hands them to the handler one at a time, saves the checkpoint every
 * `checkpointEvents` events or `checkpointMs` ms (and when idle, and on stop), and, once a read comes back short,
 * waits for the backend's wake-up hint or its polling delay. At most two pages are held: the one being handled and
 * the next, read ahead while the handler works.
 *
 * A named subscription first takes its lease (waiting while another instance holds it), then loads its
 * checkpoint; it goes back to waiting if the lease is lost.
 */
export class SubscriptionRun implements Subscription {
  readonly name: string | undefined;
  readonly caughtUp: Promise<void>;
  readonly done: Promise<void>;
  readonly #p: SubscriptionBackend;
  readonly #s: PreparedSubscribe;
  readonly #owner = randomUUID();
  readonly #stop = new AbortController();
  #resolveCaughtUp!: () => void;
  #rejectCaughtUp!: (err: unknown) => void;
  #finished: Promise<void>;
  /** The last handled position (version for a stream), and the last one saved. */
  #position = 0n;
  #saved = 0n;
  #unsaved = 0;
  #savedAt = Date.now();
  /** When the last event was handled (or the run started). */
  #handledAt = Date.now();
  #failures = 0;
  #lease: LeaseKeeper | undefined;
  readonly #context: SubscriptionContext;

  constructor(prepared: PreparedSubscribe, backend: SubscriptionBackend) {
    this.#s = prepared;
    this.#p = backend;
    this.name = prepared.name;
    this.#context = Object.freeze({ name: prepared.name, tx: undefined });
    this.caughtUp = quiet(
      new Promise<void>((resolve, reject) => {
        this.#resolveCaughtUp = resolve;
        this.#rejectCaughtUp = reject;
      }),
    );
    this.done = quiet(this.#run());
    this.#finished = this.done.then(
      () => {},
      () => {},
    );
  }

  stop(): Promise<void> {
    this.#stop.abort();
    return this.#finished;
  }

  get #stopping(): boolean {
    return this.#stop.signal.aborted;
  }

  async #run(): Promise<void> {
    try {
      while (!this.#stopping) {
        if (this.#s.name !== undefined) {
          this.#lease = new LeaseKeeper(this.#p.lease, this.#s.name, this.#owner, this.#s.leaseMs);
          const held = await this.#lease.take(this.#stop.signal, (fn) => this.#retrying(fn));
          if (!held) break;
        }
        try {
          await this.#active();
        } catch (err) {
          if (!(err instanceof Interrupted)) throw err;
        } finally {
          await this.#lease?.release();
        }
      }
      this.#resolveCaughtUp();
    } catch (err) {
      this.#rejectCaughtUp(err);
      throw err;
    }
  }

  /** Runs while the lease is held: from the checkpoint (or `from`), page after page, then live. */
  async #active(): Promise<void> {
    const s = this.#s;
    const stored =
      s.name === undefined ? undefined : await this.#retrying(() => this.#p.checkpoints.load(s.name!));
    this.#position = stored ?? (await this.#start());
    this.#saved = this.#position;
    this.#unsaved = 0;
    this.#savedAt = Date.now();
    this.#handledAt = this.#savedAt;
    if (this.#p.follow !== undefined) {
      try {
        await this.#following();
      } finally {
        if (this.#position !== this.#saved && !this.#lease?.lost) {
          await this.#retrying(() => this.#save()).catch(() => {});
        }
      }
      return;
    }
    let idle = 0;
    let readAt = 0;
    let ahead: Promise<RecordedEvent[]> | undefined;
    try {
      for (;;) {
        this.#check();
        const epoch = this.#p.epoch();
        readAt = performance.now();
        let prefetched = ahead;
        ahead = undefined;
        const page = await this.#retrying(() => {
          const read = prefetched ?? this.#page(this.#position);
          prefetched = undefined;
          return read;
        });
        const full = page.length === s.pageSize;
        // Read the next page while the handler works on this one: catch-up never waits on a round trip.
        if (full) ahead = quiet(this.#page(this.#key(page.at(-1)!)));
        for (const event of page) {
          this.#check();
          const pending = this.#handle(event);
          if (pending !== undefined) await pending;
        }
        if (full) continue;
        this.#resolveCaughtUp();
        if (this.#unsaved > 0) await this.#save();
        this.#check();
        idle = page.length === 0 ? idle + 1 : 0;
        await this.#p.wait(epoch, this.#p.pollDelayMs(idle), this.#signal());
        // Coalesce wake-ups that come faster than the backend's live read interval into one read.
        const rest = this.#p.liveReadIntervalMs - (performance.now() - readAt);
        if (rest > 0) await pause(rest, this.#signal());
      }
    } finally {
      // A stop keeps what was handled; a lost lease leaves the checkpoint to the instance that holds it now.
      if (this.#unsaved > 0 && !this.#lease?.lost) await this.#retrying(() => this.#save()).catch(() => {});
    }
  }

  /**
   * Delivery by the backend (see {@link SubscriptionBackend.follow}): one item at a time, the next pulled only once
   * the handler settled for every event of the last. A retryable failure of the backend opens it again after the last handled position (or
   * checkpoint-reached position), after a backoff; the failure count resets once an item arrives.
   */
  async #following(): Promise<void> {
    const signal = this.#signal();
    for (;;) {
      this.#check();
      const items = this.#p.follow!(this.#position, this.#s, signal)[Symbol.asyncIterator]();
      try {
        for (;;) {
          let next: IteratorResult<FollowItem>;
          try {
            next = await items.next();
          } catch (err) {
            if (this.#stopping && isEventStoreError(err, 'STORE_CLOSED')) throw new Interrupted();
            if (!retryable(err) || this.#failures >= this.#s.retryAttempts) throw err;
            const delay = Math.min(this.#s.retryMaxMs, this.#s.retryInitialMs * 2 ** this.#failures);
            this.#failures++;
            await pause(delay, signal);
            break;
          }
          this.#check();
          // The backend ends its iterator only when the signal aborted, and #check has thrown then; if it ends
          // anyway, it is opened again after a pause.
          if (next.done) {
            await pause(this.#s.retryInitialMs, signal);
            break;
          }
          this.#failures = 0;
          const pending = this.#take(next.value);
          if (pending !== undefined) await pending;
        }
      } finally {
        await items.return?.();
      }
    }
  }

  /** One item of the backend's delivery. Returns a promise only when there is something to wait for. */
  #take(item: FollowItem): Promise<void> | undefined {
    switch (item.kind) {
      case 'events':
        return this.#handleAll(item.events, 0);
      case 'checkpoint': {
        // Every wanted event up to here was handled, so the subscription may resume after it. It is taken only
        // once the subscription has handled nothing for `checkpointMs` (and saved nothing for as long), so that a
        // filtered subscription whose events are rare still moves its checkpoint, at most one save per
        // `checkpointMs`, while one that handles events keeps the last handled event as its checkpoint.
        const now = Date.now();
        if (item.position <= this.#position || this.#unsaved > 0) return undefined;
        if (now - this.#handledAt < this.#s.checkpointMs || now - this.#savedAt < this.#s.checkpointMs) {
          return undefined;
        }
        this.#position = item.position;
        return this.#s.name === undefined ? undefined : this.#retrying(() => this.#save());
      }
      case 'caughtUp':
        this.#resolveCaughtUp();
        return this.#unsaved > 0 ? this.#retrying(() => this.#save()) : undefined;
      case 'idle':
        return this.#unsaved > 0 ? this.#retrying(() => this.#save()) : undefined;
    }
  }

  /** Hands `events` over from index `from`, one at a time, waiting only where a handler or a save is pending. */
  #handleAll(events: readonly RecordedEvent[], from: number): Promise<void> | undefined {
    for (let k = from; k < events.length; k++) {
      this.#check();
      const pending = this.#handle(events[k]!);
      if (pending !== undefined) return pending.then(() => this.#handleAll(events, k + 1));
    }
    return undefined;
  }

  /** An abort signal for waits: it fires on stop or when the lease is lost. */
  #signal(): AbortSignal {
    return this.#lease ? AbortSignal.any([this.#stop.signal, this.#lease.signal]) : this.#stop.signal;
  }

  #check(): void {
    if (this.#stopping || this.#lease?.lost) throw new Interrupted();
  }

  #key(event: RecordedEvent): bigint {
    return this.#s.stream === undefined ? event.position : BigInt(event.version);
  }

  async #start(): Promise<bigint> {
    const s = this.#s;
    if (s.start.kind === 'after') return s.start.value;
    return this.#retrying(async () =>
      s.stream === undefined ? this.#p.lastPosition() : BigInt(await this.#p.streamVersion(s.stream)),
    );
  }

  async #page(after: bigint): Promise<RecordedEvent[]> {
    const s = this.#s;
    const source =
      s.stream === undefined
        ? this.#p.readAll(after, s.pageSize, s)
        : this.#p.readStream(s.stream, Number(after) + 1, s.pageSize);
    const out: RecordedEvent[] = [];
    for await (const e of source) out.push(e);
    return out;
  }

  /**
   * Hands one event over. Returns a promise only when there is something to wait for (an asynchronous handler, a
   * checkpoint save), so that catch-up through a synchronous handler costs no extra turn per event.
   */
  #handle(event: RecordedEvent): Promise<void> | undefined {
    const s = this.#s;
    const key = this.#key(event);
    if (s.transactional && s.name !== undefined && this.#p.transactional !== undefined) {
      return this.#transaction(s.name, key, event).then((committed) => {
        if (!committed) this.#lease?.markLost();
        this.#check();
        this.#position = key;
        this.#saved = key;
        this.#handledAt = Date.now();
      });
    }
    const result = s.handler(event, this.#context);
    if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
      return (result as Promise<void>).then(() => this.#handled(key));
    }
    return this.#handled(key);
  }

  /** Records a handled event; saves the checkpoint when `checkpointEvents` or `checkpointMs` is reached. */
  #handled(key: bigint): Promise<void> | undefined {
    this.#position = key;
    this.#handledAt = Date.now();
    if (this.#s.name === undefined) return undefined;
    this.#unsaved++;
    if (this.#unsaved >= this.#s.checkpointEvents || Date.now() - this.#savedAt >= this.#s.checkpointMs) {
      return this.#retrying(() => this.#save());
    }
    return undefined;
  }

  /**
   * One event and its checkpoint in one backend transaction. A backend failure leaves the commit's outcome
   * unknown: after a backoff the stored checkpoint tells (at or past `key`: it committed), else it runs again.
   */
  async #transaction(name: string, key: bigint, event: RecordedEvent): Promise<boolean> {
    const run = this.#p.transactional!;
    for (;;) {
      try {
        const committed = await run(name, this.#owner, key, async (tx) => {
          await this.#s.handler(event, { name, tx });
        });
        this.#failures = 0;
        return committed;
      } catch (err) {
        if (!retryable(err) || this.#failures >= this.#s.retryAttempts) throw err;
        const delay = Math.min(this.#s.retryMaxMs, this.#s.retryInitialMs * 2 ** this.#failures);
        this.#failures++;
        await pause(delay, this.#stop.signal);
        const stored = await this.#retrying(() => this.#p.checkpoints.load(name));
        if (stored !== undefined && stored >= key) return true;
        this.#check();
      }
    }
  }

  async #save(): Promise<void> {
    const position = this.#position;
    if (this.#s.name === undefined || position === this.#saved) {
      this.#unsaved = 0;
      return;
    }
    await this.#p.checkpoints.save(this.#s.name, position);
    this.#saved = position;
    this.#unsaved = 0;
    this.#savedAt = Date.now();
  }

  /**
   * Runs a backend call, retrying `UNAVAILABLE` and `TIMEOUT` with exponential backoff. The failure count is
   * consecutive across calls: any success resets it, and when it passes `retryAttempts` the error ends the
   * subscription. A stop during a backoff ends it quietly.
   */
  async #retrying<T>(fn: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        const result = await fn();
        this.#failures = 0;
        return result;
      } catch (err) {
        if (this.#stopping && isEventStoreError(err, 'STORE_CLOSED')) throw new Interrupted();
        if (!retryable(err) || this.#failures >= this.#s.retryAttempts) throw err;
        const delay = Math.min(this.#s.retryMaxMs, this.#s.retryInitialMs * 2 ** this.#failures);
        this.#failures++;
        await pause(delay, this.#stop.signal);
        if (this.#stopping) throw new Interrupted();
      }
    }
  }
}
