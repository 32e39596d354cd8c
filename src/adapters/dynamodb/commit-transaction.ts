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
import { fillOwnRange, type PositionRange } from './positions.js';
import type { StreamHeads } from './stream-heads.js';

/** What became of one append in a commit. */
export type CommitOutcome =
  | { kind: 'committed'; range: PositionRange }
  /** The stream is no longer at `base` (or never was): read it and decide again. */
  | { kind: 'moved' }
  /** A one-event append whose event is already stored at base + 1 with the same id. */
  | { kind: 'duplicate-of-one'; ref: EventRef }
  /** The base event took a later position than this commit's range: commit again with new positions. */
  | { kind: 'reorder' };

/** One append, placed in a group. */
export interface Planned {
  append: PreparedAppend;
  base: number;
  /** Whether the transaction must check that the base event exists before the range. */
  checkBase: boolean;
  resolve: (outcome: CommitOutcome) => void;
  reject: (err: unknown) => void;
}

/** Thrown by a commit to have its members committed one by one. */
export class SplitGroup extends Error {}

/**
 * Sends one TransactWriteItems for `members` at positions `range.first ..` (the range may be longer than their
 * events: the claim covers it all and says how much is used, and the last event tells readers where to go on).
 * Settles the members it can and returns those to commit again, with new positions. Throws SplitGroup when
 * DynamoDB refused the group as a whole; any other throw is for every member.
 */
export async function sendCommit(
  ctx: StoreContext,
  heads: StreamHeads,
  members: readonly Planned[],
  range: PositionRange,
): Promise<Planned[]> {
  const total = members.reduce((sum, m) => sum + m.append.events.length, 0);
  const size = Number(range.last - range.first + 1n);
  const skipTo = total < size ? range.last + 1n : undefined;
  const commitId = randomUUID();
  const now = Date.now();
  const items: TransactWriteItem[] = [];
  /** Per member: its range and the index of its check (or -1) and of its first put. */
  const layout: Array<{ range: PositionRange; checkAt: number; firstPutAt: number }> = [];
  let next = range.first;
  for (const [k, m] of members.entries()) {
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
    const lastMember = k === members.length - 1;
    events.forEach((e, i) => {
      const last = lastMember && i === events.length - 1;
      items.push({
        Put: {
          TableName: ctx.tableName,
          Item: eventItem(
            streamId,
            m.base + 1 + i,
            own.first + BigInt(i),
            now,
            e,
            ctx.bucketSize,
            last ? skipTo : undefined,
          ),
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
        size,
        head.append.events[0]!.id,
        now,
        ctx.bucketSize,
        commitId,
        total,
      ),
      ConditionExpression: 'attribute_not_exists(pk)',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    },
  });
  let reasons: NonNullable<TransactionCanceledException['CancellationReasons']>;
  try {
    // Transient failures are retried as the very same transaction, with the same token: never applied twice.
    await ctx.retrying(() =>
      ctx.client.send(new TransactWriteItemsCommand({ TransactItems: items, ClientRequestToken: commitId })),
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
  const again: Planned[] = [];
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
      if (reorder) {
        // Remember where the base event lies, so that the next group does not use positions below it.
        const ref = parseRef(old);
        heads.record(m.append.streamId, ref.version, ref.position, [ref.id]);
      }
      m.resolve(reorder ? { kind: 'reorder' } : { kind: 'moved' });
    } else {
      again.push(m);
    }
  });
  return again;
}
