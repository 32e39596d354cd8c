import { randomUUID } from 'node:crypto';
import {
  type TransactionCanceledException,
  type TransactWriteItem,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import type { PreparedAppend } from '../../contract/index.js';
import type { StoreContext } from './context.js';
import { appendClaimItem, type EventRef, eventItem, parseRef, streamKey } from './items.js';
import { mapError } from './map-error.js';
import { fillOwnRange, type PositionAllocator, type PositionRange } from './positions.js';

/** What became of one append in a commit. */
export type CommitOutcome =
  | { kind: 'committed'; range: PositionRange }
  /** The stream is no longer at `base` (or never was): read it and decide again. */
  | { kind: 'moved' }
  /** A one-event append whose event is already stored at base + 1 with the same id. */
  | { kind: 'duplicate-of-one'; ref: EventRef }
  /** The base event took a later position than this commit's range: commit again with new positions. */
  | { kind: 'reorder' };

interface Member {
  append: PreparedAppend;
  base: number;
  /** Whether the transaction must check that the base event exists before the range. */
  checkBase: boolean;
  resolve: (outcome: CommitOutcome) => void;
  reject: (err: unknown) => void;
}

/** DynamoDB's 100 actions per transaction, less the claim. */
const MAX_ACTIONS = 99;

function actions(m: Member): number {
  return m.append.events.length + (m.checkBase ? 1 : 0);
}

/**
 * DynamoDB's 4 MB per transaction, less room for the claim. A member is counted at its payload, plus an item's
 * overhead per event, plus a whole item for the event it checks (whether DynamoDB counts checked items is not
 * documented, so assume it does). One member alone always fits: that is how maxAppendBytes was chosen.
 */
const GROUP_BYTES = 4 * 1024 * 1024 - 64 * 1024;

function weight(m: Member): number {
  return m.append.bytes + m.append.events.length * 2048 + (m.checkBase ? 400 * 1024 : 0);
}

/** Thrown inside a commit to run its members one by one. */
class SplitGroup extends Error {}

/**
 * Commits appends in groups: the appends that wait while a commit is in flight go together in the next
 * TransactWriteItems, with one position allocation and one claim for all of them. Each append stays atomic, and an
 * append never shares a transaction with another append to the same stream. Under load this divides both requests
 * and transaction overhead by the group size; alone, an append is a group of one.
 */
export class GroupCommitter {
  readonly #ctx: StoreContext;
  readonly #allocator: PositionAllocator;
  readonly #maxInFlight: number;
  #queue: Member[] = [];
  #inFlight = 0;
  #scheduled = false;
  /** Transactions sent, for the benchmark. */
  commits = 0;

  constructor(ctx: StoreContext, allocator: PositionAllocator, maxInFlight: number) {
    this.#ctx = ctx;
    this.#allocator = allocator;
    this.#maxInFlight = maxInFlight;
  }

  commit(append: PreparedAppend, base: number, checkBase: boolean): Promise<CommitOutcome> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ append, base, checkBase, resolve, reject });
      this.#schedule();
    });
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
    while (this.#inFlight < this.#maxInFlight && this.#queue.length > 0) {
      const group = this.#take();
      this.#inFlight++;
      void this.#run(group).finally(() => {
        this.#inFlight--;
        this.#schedule();
      });
    }
  }

  /** The longest prefix-in-order of the queue that fits one transaction, one append per stream. */
  #take(): Member[] {
    const group: Member[] = [];
    const streams = new Set<string>();
    let count = 0;
    let bytes = 0;
    const rest: Member[] = [];
    for (const m of this.#queue) {
      const fits =
        !streams.has(m.append.streamId) &&
        count + actions(m) <= MAX_ACTIONS &&
        (group.length === 0 || bytes + weight(m) <= GROUP_BYTES);
      if (fits) {
        group.push(m);
        streams.add(m.append.streamId);
        count += actions(m);
        bytes += weight(m);
      } else {
        rest.push(m);
      }
    }
    this.#queue = rest;
    return group;
  }

  async #run(group: Member[]): Promise<void> {
    let members = group;
    try {
      while (members.length > 0) members = await this.#attempt(members);
    } catch (err) {
      if (!(err instanceof SplitGroup)) {
        for (const m of members) m.reject(err);
        return;
      }
      // DynamoDB refused the group as a whole: commit each append on its own, so that one append's problem is
      // reported to it alone.
      for (const m of members) await this.#run([m]);
    }
  }

  /** One transaction for `members`; returns the members to commit again (with new positions). */
  async #attempt(members: Member[]): Promise<Member[]> {
    const ctx = this.#ctx;
    const total = members.reduce((sum, m) => sum + m.append.events.length, 0);
    const range = await this.#allocator.allocate(total);
    const commitId = randomUUID();
    const now = Date.now();
    const items: TransactWriteItem[] = [];
    /** Per member: its range and the index of its check (or -1) and of its first put. */
    const layout: Array<{ range: PositionRange; checkAt: number; firstPutAt: number }> = [];
    let next = range.first;
    for (const m of members) {
      const { streamId, events } = m.append;
      const own = { first: next, last: next + BigInt(events.length) - 1n };
      next = own.last + 1n;
      let checkAt = -1;
      if (m.checkBase) {
        // The stream is at `base` (the put below proves nothing follows it) and its last event lies before this
        // range, so position order stays version order.
        checkAt = items.length;
        items.push({
          ConditionCheck: {
            TableName: ctx.tableName,
            Key: streamKey(streamId, m.base),
            ConditionExpression: 'attribute_exists(pk) AND p < :first',
            ExpressionAttributeValues: { ':first': { N: own.first.toString() } },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        });
      }
      layout.push({ range: own, checkAt, firstPutAt: items.length });
      events.forEach((e, i) => {
        items.push({
          Put: {
            TableName: ctx.tableName,
            Item: eventItem(streamId, m.base + 1 + i, own.first + BigInt(i), now, e, ctx.bucketSize),
            ConditionExpression: 'attribute_not_exists(pk)',
            ReturnValuesOnConditionCheckFailure: i === 0 ? 'ALL_OLD' : 'NONE',
          },
        });
      });
    }
    const head = members[0]!;
    const claimAt = items.length;
    items.push({
      Put: {
        TableName: ctx.tableName,
        Item: appendClaimItem(
          head.append.streamId,
          head.base + 1,
          range.first,
          total,
          head.append.events[0]!.id,
          now,
          ctx.bucketSize,
          commitId,
        ),
        ConditionExpression: 'attribute_not_exists(pk)',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    });
    let reasons: NonNullable<TransactionCanceledException['CancellationReasons']>;
    try {
      this.commits++;
      // Transient failures are retried as the very same transaction, with the same token: never applied twice.
      await ctx.retrying(() =>
        ctx.client.send(
          new TransactWriteItemsCommand({ TransactItems: items, ClientRequestToken: commitId }),
        ),
      );
      for (const [i, m] of members.entries()) m.resolve({ kind: 'committed', range: layout[i]!.range });
      return [];
    } catch (err) {
      const cancelled = (err as { name?: string }).name === 'TransactionCanceledException';
      reasons = cancelled ? ((err as TransactionCanceledException).CancellationReasons ?? []) : [];
      if (!reasons.some((r) => r.Code === 'ConditionalCheckFailed')) {
        // Unknown outcome or a hard failure: the filler's condition leaves a committed claim alone.
        await fillOwnRange(ctx, range);
        if ((err as { name?: string }).name === 'ValidationException' && members.length > 1) {
          throw new SplitGroup();
        }
        throw mapError(err, 'TransactWriteItems', members.length === 1 ? head.append.streamId : undefined);
      }
    }
    const failed = (i: number) => i >= 0 && reasons[i]?.Code === 'ConditionalCheckFailed';
    if (failed(claimAt) && reasons[claimAt]!.Item?.g?.S === commitId) {
      // An earlier try of this very transaction committed and its answer was lost.
      for (const [i, m] of members.entries()) m.resolve({ kind: 'committed', range: layout[i]!.range });
      return [];
    }
    // Nothing of this attempt was written: give its positions up, settle the members that failed, and commit
    // the others again (a filler at the claim's key, from a reader that gave up waiting, fails them all).
    await fillOwnRange(ctx, range);
    const again: Member[] = [];
    members.forEach((m, i) => {
      const { checkAt, firstPutAt } = layout[i]!;
      if (failed(firstPutAt)) {
        const old = reasons[firstPutAt]!.Item;
        if (m.append.events.length === 1 && old?.id?.S === m.append.events[0]!.id) {
          m.resolve({ kind: 'duplicate-of-one', ref: parseRef(old) });
        } else {
          m.resolve({ kind: 'moved' });
        }
      } else if (failed(checkAt)) {
        const old = reasons[checkAt]!.Item;
        const reorder = old?.p?.N !== undefined && BigInt(old.p.N) >= layout[i]!.range.first;
        m.resolve(reorder ? { kind: 'reorder' } : { kind: 'moved' });
      } else {
        again.push(m);
      }
    });
    return again;
  }
}
