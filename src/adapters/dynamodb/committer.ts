import type { PreparedAppend } from '../../contract/index.js';
import { GroupCommitter } from '../../internal/group-commit.js';
import {
  type AttemptOutcome,
  type CommitOutcome,
  type Planned,
  SplitGroup,
  sendCommit,
} from './commit-transaction.js';
import type { StoreContext } from './context.js';
import type { PositionAllocator } from './positions.js';
import type { StreamHeads } from './stream-heads.js';

export type { CommitOutcome } from './commit-transaction.js';

/** DynamoDB's 100 actions per transaction, less the claim. */
const MAX_ACTIONS = 99;

/**
 * DynamoDB's 4 MB per transaction, less room for the claim. A member is counted at its payload, plus an item's
 * overhead per event, plus a whole item for the event it checks (whether DynamoDB counts checked items is not
 * documented, so assume it does). One member alone always fits: that is how maxAppendBytes was chosen.
 */
const GROUP_BYTES = 4 * 1024 * 1024 - 64 * 1024;

function weight(m: Planned): number {
  return m.append.bytes + m.append.events.length * 2048 + (m.checkBase ? 400 * 1024 : 0);
}

/**
 * The store's commits, through the shared group-commit core: the appends that wait while a commit is in flight go
 * together in the next TransactWriteItems, with one position allocation and one claim for all of them. Each append
 * stays atomic, and a transaction holds at most one append per stream (two appends to one stream in one
 * transaction could not both be checked against the stream's end). Under load this divides requests and
 * transaction overhead by the group size; alone, an append is a group of one.
 */
export class DynamoDBCommitter {
  readonly #ctx: StoreContext;
  readonly #allocator: PositionAllocator;
  readonly #heads: StreamHeads;
  readonly #groups: GroupCommitter<Planned, CommitOutcome>;

  constructor(ctx: StoreContext, allocator: PositionAllocator, heads: StreamHeads, maxInFlight: number) {
    this.#ctx = ctx;
    this.#allocator = allocator;
    this.#heads = heads;
    this.#groups = new GroupCommitter<Planned, CommitOutcome>({
      maxInFlight,
      take: takeGroup,
      commitOne: async (m) => (await this.#commit([m]))[0]!,
      commitMany: (members) => this.#commit(members),
      // DynamoDB refused the group as a whole: commit each append on its own, so that one append's problem is
      // reported to it alone. Any other error is every member's.
      isShared: (err) => !(err instanceof SplitGroup),
    });
  }

  /** Transactions sent, for tests and the benchmark. */
  commits = 0;

  commit(append: PreparedAppend, base: number): Promise<CommitOutcome> {
    return this.#groups.submit({ append, base, checkBase: this.#mustCheckBase(append.streamId, base) });
  }

  /** Resolves once every append handed in has settled. */
  drained(): Promise<void> {
    return this.#groups.drained();
  }

  /**
   * Whether the transaction must check the base event (it exists, and lies before the new positions). Not when
   * base is 0, nor when it is the stream's end as this store saw it: positions are taken after this moment, so they
   * lie after every event this store has seen, and events never change. A base behind that end is checked too:
   * the put at base + 1 alone would not fail where an import past version 1 left no item (import-start.ts).
   */
  #mustCheckBase(streamId: string, base: number): boolean {
    if (base === 0) return false;
    const head = this.#heads.get(streamId);
    return head === undefined || head.version !== base;
  }

  /** Commits `members`, taking new positions for those whose transaction failed on another member's condition. */
  async #commit(members: readonly Planned[]): Promise<CommitOutcome[]> {
    const planned = [...members];
    const outcomes: AttemptOutcome[] = members.map(() => 'again');
    for (;;) {
      const pending = planned.flatMap((_, i) => (outcomes[i] === 'again' ? [i] : []));
      if (pending.length === 0) return outcomes as CommitOutcome[];
      // Decided again at each send: the store may have forgotten a base event since the append was handed in.
      for (const i of pending) {
        const m = planned[i]!;
        if (!m.checkBase && this.#mustCheckBase(m.append.streamId, m.base))
          planned[i] = { ...m, checkBase: true };
      }
      const group = pending.map((i) => planned[i]!);
      const range = await this.#allocator.allocate(group.reduce((n, m) => n + m.append.events.length, 0));
      this.commits++;
      const attempt = await sendCommit(this.#ctx, this.#heads, group, range);
      attempt.forEach((outcome, k) => {
        const i = pending[k]!;
        if (outcome === 'recheck') {
          const m = planned[i]!;
          planned[i] = { ...m, checkBase: m.base > 0 };
          outcomes[i] = 'again';
        } else {
          outcomes[i] = outcome;
        }
      });
    }
  }
}

/** The oldest waiting appends that fit one transaction, at most one per stream. */
function takeGroup(waiting: readonly Planned[]): Planned[] {
  const group: Planned[] = [];
  const streams = new Set<string>();
  let actions = 0;
  let bytes = 0;
  for (const m of waiting) {
    const cost = m.append.events.length + (m.checkBase ? 1 : 0);
    const w = weight(m);
    if (streams.has(m.append.streamId) || actions + cost > MAX_ACTIONS) continue;
    if (group.length > 0 && bytes + w > GROUP_BYTES) continue;
    group.push(m);
    streams.add(m.append.streamId);
    actions += cost;
    bytes += w;
  }
  return group;
}
