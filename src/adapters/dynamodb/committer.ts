import type { PreparedAppend } from '../../contract/index.js';
import { type CommitOutcome, type Planned, SplitGroup, sendCommit } from './commit-transaction.js';
import type { StoreContext } from './context.js';
import { MAX_CLAIM_POSITIONS } from './items.js';
import { fillOwnRange, type PositionAllocator, type PositionRange } from './positions.js';
import type { StreamHeads } from './stream-heads.js';

export type { CommitOutcome } from './commit-transaction.js';

interface Member {
  append: PreparedAppend;
  base: number;
  resolve: (outcome: CommitOutcome) => void;
  reject: (err: unknown) => void;
}

/** Positions taken ahead for the next group: `size` of them, once the counter answers (undefined if it failed). */
interface Block {
  size: number;
  range: Promise<PositionRange | undefined>;
}

/** DynamoDB's 100 actions per transaction, less the claim. */
const MAX_ACTIONS = 99;

/**
 * DynamoDB's 4 MB per transaction, less room for the claim. A member is counted at its payload, plus an item's
 * overhead per event, plus a whole item for the event it checks (whether DynamoDB counts checked items is not
 * documented, so assume it does). One member alone always fits: that is how maxAppendBytes was chosen.
 */
const GROUP_BYTES = 4 * 1024 * 1024 - 64 * 1024;

function weight(m: Member, checkBase: boolean): number {
  return m.append.bytes + m.append.events.length * 2048 + (checkBase ? 400 * 1024 : 0);
}

function eventsOf(members: readonly { append: PreparedAppend }[]): number {
  let n = 0;
  for (const m of members) n += m.append.events.length;
  return n;
}

/**
 * Commits appends in groups: the appends that wait while a commit is in flight go together in the next
 * TransactWriteItems, with one claim for all of them. Each append stays atomic, and an append never shares a
 * transaction with another append to the same stream. Under load this divides both requests and transaction
 * overhead by the group size; alone, an append is a group of one.
 *
 * While the store is busy, the next group's positions are taken while the current transaction is in flight (a
 * block sized for the appends expected in it), so that a group under load waits for one round trip, not two. A
 * block the next group does not fill is covered by its claim all the same; a block no group takes (the store went
 * idle, closed, or the waiting appends cannot use it) is given up at once with a filler, like a failed commit's
 * range, so that readers never wait on it.
 */
export class GroupCommitter {
  readonly #ctx: StoreContext;
  readonly #allocator: PositionAllocator;
  readonly #heads: StreamHeads;
  readonly #maxInFlight: number;
  #queue: Member[] = [];
  /** Groups being formed or committed. */
  #lanes = 0;
  /** Lanes waiting for a block before they form their group: appends queued meanwhile join it. */
  #forming = 0;
  /** Events in transactions being prepared or sent. */
  #eventsInFlight = 0;
  #ahead: Block | undefined;
  /** A commit ended and appends were already waiting for the next: positions are then worth taking ahead. */
  #busy = false;
  #laneEnded = false;
  #scheduled = false;
  #closing = false;
  #idle: Array<() => void> = [];
  readonly #givingUp = new Set<Promise<void>>();
  /** For tests and the benchmark. */
  readonly stats = { commits: 0, blocksAhead: 0, blocksGivenUp: 0, positionsUnused: 0 };

  constructor(ctx: StoreContext, allocator: PositionAllocator, heads: StreamHeads, maxInFlight: number) {
    this.#ctx = ctx;
    this.#allocator = allocator;
    this.#heads = heads;
    this.#maxInFlight = maxInFlight;
  }

  commit(append: PreparedAppend, base: number): Promise<CommitOutcome> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ append, base, resolve, reject });
      this.#schedule();
    });
  }

  /**
   * Waits until every append handed in is settled, then gives up positions still held. Appends may still be
   * handed in while it waits; the store stops that before it calls this.
   */
  async close(): Promise<void> {
    this.#closing = true;
    while (this.#queue.length > 0 || this.#lanes > 0 || this.#scheduled) {
      await new Promise<void>((resolve) => this.#idle.push(resolve));
    }
    this.#giveUpAhead();
    await Promise.all([...this.#givingUp]);
  }

  /**
   * Groups are formed one event-loop turn after an append arrives or a commit ends, not at once: the callers a
   * commit has just answered append again in the microtasks that follow, and so join the next group instead of
   * waiting a whole commit behind it. Under a steady load this makes one group of everyone in flight where
   * forming at once made two alternating half groups.
   */
  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#pump();
    });
  }

  #pump(): void {
    if (this.#laneEnded) {
      this.#laneEnded = false;
      this.#busy = this.#queue.length > 0;
    }
    while (this.#lanes < this.#maxInFlight && this.#queue.length > 0) {
      this.#lanes++;
      void this.#lane().finally(() => {
        this.#lanes--;
        this.#laneEnded = true;
        this.#schedule();
      });
    }
    if (this.#queue.length === 0 && this.#lanes === 0) {
      // Idle: nothing will use positions taken ahead.
      this.#giveUpAhead();
      for (const resolve of this.#idle.splice(0)) resolve();
    } else if (this.#queue.length > 0 && this.#forming === 0 && this.#lanes >= this.#maxInFlight) {
      // Appends wait behind a transaction in flight: take their positions now.
      this.#takeAhead();
    }
  }

  async #lane(): Promise<void> {
    const block = this.#ahead;
    this.#ahead = undefined;
    let range: PositionRange | undefined;
    if (block) {
      this.#forming++;
      try {
        range = await block.range;
      } finally {
        this.#forming--;
      }
    }
    let group = this.#take(range);
    if (range && group.length === 0) {
      // None of the waiting appends can use this block (too large, or a base event known to lie past it).
      this.#giveUp(Promise.resolve(range));
      range = undefined;
      group = this.#take(undefined);
    }
    if (group.length === 0) return;
    await this.#run(group, range);
  }

  /**
   * The longest prefix-in-order of the queue that fits one transaction, one append per stream, and the block when
   * there is one: its size, and its positions must lie after every base event this store knows of (an append
   * whose base event lies past the block waits for the next group, whose positions will be taken later).
   */
  #take(range: PositionRange | undefined): Planned[] {
    const group: Planned[] = [];
    const streams = new Set<string>();
    const room = range ? Number(range.last - range.first + 1n) : Number.POSITIVE_INFINITY;
    let actions = 0;
    let events = 0;
    let bytes = 0;
    const rest: Member[] = [];
    for (const m of this.#queue) {
      const check = this.#baseCheck(m, range);
      const n = m.append.events.length;
      const cost = n + (check ? 1 : 0);
      const w = weight(m, check === true);
      const fits =
        check !== undefined &&
        !streams.has(m.append.streamId) &&
        actions + cost <= MAX_ACTIONS &&
        events + n <= room &&
        (group.length === 0 || bytes + w <= GROUP_BYTES);
      if (fits) {
        group.push({ ...m, checkBase: check });
        streams.add(m.append.streamId);
        actions += cost;
        events += n;
        bytes += w;
      } else {
        rest.push(m);
      }
    }
    this.#queue = rest;
    return group;
  }

  /**
   * Whether the transaction must check the base event (it exists, and lies before the new positions), or
   * undefined when this store knows the base event lies at or past `range`, which the append cannot use. Without a
   * range, positions are taken after this moment, so they lie after every event this store has seen.
   */
  #baseCheck(m: Member, range: PositionRange | undefined): boolean | undefined {
    if (m.base === 0) return false;
    const head = this.#heads.get(m.append.streamId);
    if (head === undefined || head.version < m.base) return true;
    if (range && head.version === m.base && head.position >= range.first) return undefined;
    // Known to exist before the range (or the stream is past base, and the put at base + 1 will fail).
    return false;
  }

  async #run(group: Planned[], range: PositionRange | undefined): Promise<void> {
    let members = group;
    let given = range;
    try {
      while (members.length > 0) {
        members = await this.#attempt(members, given);
        given = undefined;
      }
    } catch (err) {
      if (!(err instanceof SplitGroup)) {
        for (const m of members) m.reject(err);
        return;
      }
      // DynamoDB refused the group as a whole: commit each append on its own, so that one append's problem is
      // reported to it alone.
      for (const m of members) await this.#run([m], undefined);
    }
  }

  /** One transaction for `members`, at `given` or at positions taken now; returns the members to commit again. */
  async #attempt(members: Planned[], given: PositionRange | undefined): Promise<Planned[]> {
    const total = eventsOf(members);
    this.#eventsInFlight += total;
    try {
      const range = given ?? (await this.#allocator.allocate(total));
      if (this.#busy) this.#takeAhead();
      this.stats.commits++;
      return await sendCommit(this.#ctx, this.#heads, members, range);
    } finally {
      this.#eventsInFlight -= total;
    }
  }

  /**
   * Takes positions for the next group now, sized for the appends waiting and those in flight (whose callers are
   * likely to append again), unless a block is already held or the store is closing.
   */
  #takeAhead(): void {
    if (this.#ahead || this.#closing) return;
    const size = Math.min(MAX_CLAIM_POSITIONS, Math.max(1, eventsOf(this.#queue) + this.#eventsInFlight));
    this.stats.blocksAhead++;
    this.#ahead = {
      size,
      range: this.#allocator.allocate(size).catch(() => undefined),
    };
  }

  #giveUpAhead(): void {
    const block = this.#ahead;
    if (!block) return;
    this.#ahead = undefined;
    this.#giveUp(block.range);
  }

  /** Fills positions no group will use, so that readers pass them at once. */
  #giveUp(range: Promise<PositionRange | undefined>): void {
    const done = range.then(async (r) => {
      if (!r) return;
      this.stats.blocksGivenUp++;
      this.stats.positionsUnused += Number(r.last - r.first + 1n);
      await fillOwnRange(this.#ctx, r);
    });
    this.#givingUp.add(done);
    void done.finally(() => this.#givingUp.delete(done));
  }
}
