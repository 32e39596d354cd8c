import { randomUUID } from 'node:crypto';
import {
  type TransactionCanceledException,
  type TransactWriteItem,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import type { PreparedAppend } from '../../contract/index.js';
import type { StoreContext } from './context.js';
import {
  appendClaimItem,
  decodeClaim,
  decodeRef,
  EVENT_ATTR,
  type EventRef,
  eventItem,
  type Item,
  isEvent,
  positionedRef,
  streamKey,
} from './items.js';
import { mapError } from './map-error.js';
import { fillOwnRange, type PositionRange } from './positions.js';
import { isUnknownOutcome } from './retry.js';
import type { StreamHeads } from './stream-heads.js';

function claimOf(item: Item | undefined) {
  return item === undefined ? undefined : decodeClaim(item);
}

/** What became of one append in a commit. */
export type CommitOutcome =
  /** `epoch`: the heads' epoch before the transaction was sent, for `StreamHeads.record`. */
  | { kind: 'committed'; range: PositionRange; epoch: number }
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
}

/**
 * An append's outcome, or 'again': nothing of it was written, commit it again with new positions; or 'recheck': the
 * outcome is unknown and the transaction skipped a base check, commit it again with new positions and the check.
 */
export type AttemptOutcome = CommitOutcome | 'again' | 'recheck';

/** Thrown by a commit to have its members committed one by one. */
export class SplitGroup extends Error {}

/**
 * Sends one TransactWriteItems for `members` at positions `range.first ..`, with one claim for the whole range.
 * Returns one outcome per member: settled, or 'again' for those to commit again with new positions. Throws
 * SplitGroup when DynamoDB refused the group as a whole; any other throw is for every member.
 */
export async function sendCommit(
  ctx: StoreContext,
  heads: StreamHeads,
  members: readonly Planned[],
  range: PositionRange,
): Promise<AttemptOutcome[]> {
  const size = Number(range.last - range.first + 1n);
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
          ConditionExpression: 'attribute_exists(pk) AND #position < :first',
          ExpressionAttributeNames: { '#position': EVENT_ATTR.position },
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
        size,
        head.append.events[0]!.id,
        now,
        ctx.bucketSize,
        commitId,
      ),
      ConditionExpression: 'attribute_not_exists(pk)',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    },
  });
  // A member that skipped its base check relies on what this store saw; after an unknown outcome or a lost connection
  // the backend may have lost that (see StreamHeads.clear), so such a transaction is never resent as it is.
  const skipped = members.some((m) => m.base > 0 && !m.checkBase);
  const epoch = heads.epoch;
  let reasons: NonNullable<TransactionCanceledException['CancellationReasons']>;
  try {
    // Transient failures are retried as the very same transaction, with the same token: never applied twice.
    await ctx.retrying(
      () =>
        ctx.client.send(
          new TransactWriteItemsCommand({ TransactItems: items, ClientRequestToken: commitId }),
        ),
      !skipped,
    );
    return layout.map((l): AttemptOutcome => ({ kind: 'committed', range: l.range, epoch }));
  } catch (err) {
    const cancelled = (err as { name?: string }).name === 'TransactionCanceledException';
    reasons = cancelled ? ((err as TransactionCanceledException).CancellationReasons ?? []) : [];
    if (!reasons.some((r) => r.Code === 'ConditionalCheckFailed')) {
      // Unknown outcome or a hard failure: the filler's condition leaves a committed claim alone.
      await fillOwnRange(ctx, range);
      // Once the filler is in, this attempt can no longer commit; the next one checks every base event, so it fails
      // on its puts if this one did commit, and on its check if the base event is gone.
      if (skipped && isUnknownOutcome(err)) return members.map((): AttemptOutcome => 'recheck');
      if ((err as { name?: string }).name === 'ValidationException' && members.length > 1) {
        throw new SplitGroup();
      }
      throw mapError(err, {
        operation: 'append',
        request: 'TransactWriteItems',
        streamId: members.length === 1 ? head.append.streamId : undefined,
      });
    }
  }
  const failed = (i: number) => i >= 0 && reasons[i]?.Code === 'ConditionalCheckFailed';
  if (failed(claimAt) && claimOf(reasons[claimAt]!.Item)?.commitId === commitId) {
    // An earlier try of this very transaction committed and its answer was lost.
    return layout.map((l): AttemptOutcome => ({ kind: 'committed', range: l.range, epoch }));
  }
  // Nothing of this attempt was written: give its positions up, settle the members that failed, and commit
  // the others again (a filler at the claim's key, from a reader that gave up waiting, fails them all).
  await fillOwnRange(ctx, range);
  return members.map((m, i): AttemptOutcome => {
    const { checkAt, firstPutAt } = layout[i]!;
    if (failed(firstPutAt)) {
      const old = reasons[firstPutAt]!.Item;
      // An erased event's stub or a tombstone's fence holds no id: the stream moved (or is gone).
      const ref = old === undefined || !isEvent(old) ? undefined : decodeRef(old);
      if (m.append.events.length === 1 && ref?.id === m.append.events[0]!.id) {
        return { kind: 'duplicate-of-one', ref };
      }
      return { kind: 'moved' };
    } else if (failed(checkAt)) {
      const old = reasons[checkAt]!.Item;
      const ref = old === undefined ? undefined : positionedRef(old);
      const reorder = ref !== undefined && ref.position >= layout[i]!.range.first;
      if (reorder) {
        // Remember where the base event lies, so that the next group does not use positions below it.
        heads.record(m.append.streamId, ref.version, ref.position, ref.id === '' ? [] : [ref.id], epoch);
      }
      return reorder ? { kind: 'reorder' } : { kind: 'moved' };
    } else {
      return 'again';
    }
  });
}
