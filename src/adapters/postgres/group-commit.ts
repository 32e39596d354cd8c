import type { PreparedAppend } from '../../contract/index.js';

/** One row of `append_events` / `append_events_batch`: what became of one append. */
export interface AppendRow {
  o_status: 'written' | 'duplicate' | 'empty' | 'conflict';
  o_version: string | number;
  o_position: string | null;
  o_reason: string | null;
}

/** How the committer reaches the database. Both reject with the driver's own error. */
export interface AppendRunner {
  /** One append in its own transaction. */
  one(append: PreparedAppend): Promise<AppendRow>;
  /** Several appends in one transaction; one row per append, in order. */
  many(appends: readonly PreparedAppend[]): Promise<AppendRow[]>;
  /**
   * Whether a failed batch may have committed, or would fail again alone (a broken connection, a timeout): its
   * members then share the error instead of being retried one by one.
   */
  isShared(err: unknown): boolean;
}

export interface GroupCommitLimits {
  /** Group transactions in flight at once; appends that arrive while they are all busy wait and go together. */
  maxInFlight: number;
  /**
   * An append with more events or bytes than this is sent alone at once, outside the groups: it amortises its
   * own transaction, and it must not hold the small appends queued behind it.
   */
  maxEventsToGroup: number;
  maxBytesToGroup: number;
  /** A group stops growing at this many events, or bytes of event payload. */
  maxGroupEvents: number;
  maxGroupBytes: number;
}

interface Member {
  append: PreparedAppend;
  resolve: (row: AppendRow) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit. At most `maxInFlight` group transactions run at once; the appends that arrive meanwhile queue, and
 * the next free slot sends the queue (up to the limits) as one `append_events_batch` call: one round trip, one
 * transaction and one WAL flush for all of them, each append still all-or-nothing with its own outcome. An append
 * that finds a free slot is sent at once, so an idle store adds no latency; under load the groups grow with it.
 * Large appends skip the queue and go alone.
 *
 * A batch that the server refuses as a whole (an error, not a conflict: those are per-append outcomes) is rolled
 * back entirely, and its members are then committed one by one, in order, so that each gets its own result and
 * one append's problem stays its own.
 */
export class GroupCommitter {
  readonly #runner: AppendRunner;
  readonly #limits: GroupCommitLimits;
  #queue: Member[] = [];
  #inFlight = 0;
  /** Appends sent alone (too large to group) and not settled yet. */
  #alone = 0;
  #idle: Array<() => void> = [];
  /** Transactions sent, for tests and the benchmark. */
  transactions = 0;

  constructor(runner: AppendRunner, limits: GroupCommitLimits) {
    this.#runner = runner;
    this.#limits = limits;
  }

  submit(append: PreparedAppend): Promise<AppendRow> {
    const limits = this.#limits;
    if (append.events.length > limits.maxEventsToGroup || append.bytes > limits.maxBytesToGroup) {
      this.transactions++;
      return this.#track(this.#runner.one(append));
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ append, resolve, reject });
      this.#pump();
    });
  }

  /** Resolves once every append submitted so far has settled. */
  drained(): Promise<void> {
    if (this.#inFlight === 0 && this.#queue.length === 0 && this.#alone === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Counts an append sent alone until it settles, for `drained`. */
  async #track(p: Promise<AppendRow>): Promise<AppendRow> {
    this.#alone++;
    try {
      return await p;
    } finally {
      this.#alone--;
      this.#settled();
    }
  }

  #settled(): void {
    if (this.#inFlight === 0 && this.#queue.length === 0 && this.#alone === 0) {
      for (const resolve of this.#idle.splice(0)) resolve();
    }
  }

  #pump(): void {
    while (this.#inFlight < this.#limits.maxInFlight && this.#queue.length > 0) {
      const group = this.#take();
      this.#inFlight++;
      // The slot frees one macrotask after the group settles: by then its callers have run on and sent their
      // next appends, which join the queue and go together, rather than the first of them going alone.
      void this.#run(group).finally(() =>
        setImmediate(() => {
          this.#inFlight--;
          this.#pump();
          this.#settled();
        }),
      );
    }
  }

  /** The longest prefix of the queue within the limits; at least one append. */
  #take(): Member[] {
    let events = 0;
    let bytes = 0;
    let n = 0;
    for (const m of this.#queue) {
      events += m.append.events.length;
      bytes += m.append.bytes;
      if (n > 0 && (events > this.#limits.maxGroupEvents || bytes > this.#limits.maxGroupBytes)) break;
      n++;
    }
    return this.#queue.splice(0, n);
  }

  async #run(group: Member[]): Promise<void> {
    this.transactions++;
    if (group.length === 1) {
      const m = group[0]!;
      await this.#runner.one(m.append).then(m.resolve, m.reject);
      return;
    }
    let rows: AppendRow[];
    try {
      rows = await this.#runner.many(group.map((m) => m.append));
    } catch (err) {
      if (this.#runner.isShared(err)) {
        for (const m of group) m.reject(err);
        return;
      }
      for (const m of group) {
        this.transactions++;
        await this.#runner.one(m.append).then(m.resolve, m.reject);
      }
      return;
    }
    group.forEach((m, i) => {
      m.resolve(rows[i]!);
    });
  }
}
