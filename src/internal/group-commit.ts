/**
 * What an adapter supplies to `GroupCommitter`: which waiting items go together, and how a group commits.
 * `T` is what callers submit (an append), `R` what each gets back.
 */
export interface GroupCommitParts<T, R> {
  /** Groups in flight at once; items that arrive while they are all busy wait and go together. */
  maxInFlight: number;
  /**
   * The next group, taken from the waiting items (oldest first); those it leaves out wait for a later group.
   * Called with at least one item; must return at least one.
   */
  take(waiting: readonly T[]): T[];
  /** Whether an item skips the queue and is committed alone at once (it amortises its own transaction). */
  alone?(item: T): boolean;
  /** Commits one item on its own. */
  commitOne(item: T): Promise<R>;
  /** Commits several items together: one result per item, in order. */
  commitMany(items: readonly T[]): Promise<R[]>;
  /**
   * After `commitMany` threw: true when the error is every member's (the outcome is unknown, or each would fail
   * the same way alone); false when the backend refused the group as a whole, which is then committed one by one
   * so that one item's problem stays its own.
   */
  isShared(err: unknown): boolean;
}

interface Waiting<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit: at most `maxInFlight` groups are committed at once, the items that arrive meanwhile wait, and the
 * next free slot commits them together (one round trip and one transaction for all), each item keeping its own
 * outcome. An item that finds a slot free goes at once, so an idle store adds no latency; under load the groups
 * grow with it.
 *
 * The timing that makes the groups large: a slot is freed one macrotask after its group settles, not at once.
 * The callers the group has just answered run on in the microtasks that follow and submit their next items,
 * which then join the next group together. Freeing the slot at once would send the first of them alone, and under
 * a steady load the store would alternate two half-size groups, each waiting a whole commit behind the other.
 */
export class GroupCommitter<T, R> {
  readonly #parts: GroupCommitParts<T, R>;
  #queue: Waiting<T, R>[] = [];
  #inFlight = 0;
  /** Items committed alone (outside the groups) and not settled yet. */
  #alone = 0;
  #idle: Array<() => void> = [];
  /** Groups and lone items committed, one-by-one retries included, for tests and the benchmark. */
  commits = 0;

  constructor(parts: GroupCommitParts<T, R>) {
    this.#parts = parts;
  }

  submit(item: T): Promise<R> {
    if (this.#parts.alone?.(item)) {
      this.commits++;
      return this.#track(this.#parts.commitOne(item));
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      this.#pump();
    });
  }

  /** Resolves once every item submitted so far has settled. */
  drained(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #isIdle(): boolean {
    return this.#inFlight === 0 && this.#queue.length === 0 && this.#alone === 0;
  }

  async #track(p: Promise<R>): Promise<R> {
    this.#alone++;
    try {
      return await p;
    } finally {
      this.#alone--;
      this.#settled();
    }
  }

  #settled(): void {
    if (this.#isIdle()) for (const resolve of this.#idle.splice(0)) resolve();
  }

  #pump(): void {
    while (this.#inFlight < this.#parts.maxInFlight && this.#queue.length > 0) {
      const group = this.#take();
      this.#inFlight++;
      void this.#run(group).finally(() =>
        setImmediate(() => {
          this.#inFlight--;
          this.#pump();
          this.#settled();
        }),
      );
    }
  }

  #take(): Waiting<T, R>[] {
    const chosen = new Set(this.#parts.take(this.#queue.map((w) => w.item)));
    const group: Waiting<T, R>[] = [];
    const rest: Waiting<T, R>[] = [];
    for (const w of this.#queue) (chosen.has(w.item) ? group : rest).push(w);
    if (group.length === 0) throw new Error('GroupCommitParts.take returned no item');
    this.#queue = rest;
    return group;
  }

  async #run(group: Waiting<T, R>[]): Promise<void> {
    this.commits++;
    if (group.length === 1) {
      const w = group[0]!;
      await this.#parts.commitOne(w.item).then(w.resolve, w.reject);
      return;
    }
    let results: R[];
    try {
      results = await this.#parts.commitMany(group.map((w) => w.item));
    } catch (err) {
      if (this.#parts.isShared(err)) {
        for (const w of group) w.reject(err);
        return;
      }
      for (const w of group) {
        this.commits++;
        await this.#parts.commitOne(w.item).then(w.resolve, w.reject);
      }
      return;
    }
    group.forEach((w, i) => {
      w.resolve(results[i]!);
    });
  }
}
