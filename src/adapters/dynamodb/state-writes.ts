import { randomUUID } from 'node:crypto';
import {
  DeleteItemCommand,
  type TransactWriteItem,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import {
  ErrorCodes,
  EventStoreError,
  InvalidArgumentError,
  isEventStoreError,
  type Operation,
} from '../../contract/index.js';
import type { StoreContext } from './context.js';
import { erase } from './erasure.js';
import { streamKey } from './items.js';
import { mapError } from './map-error.js';
import type { StreamHeads } from './stream-heads.js';
import {
  metaItem,
  retentionKey,
  revisionCondition,
  type StreamMeta,
  type StreamView,
  stateKey,
} from './stream-meta.js';

/**
 * The writes of the stream lifecycle that its calls (lifecycle.ts) and the retention sweep (retention.ts) share:
 * the state item's compare-and-set transaction, the retention list, and the erasure that follows a change.
 */

export interface LifecycleDeps {
  ctx: StoreContext;
  heads: StreamHeads;
  /** True once the store closes or the call's deadline passed: an erasure stops between rounds. */
  closing: () => boolean;
}

/** Rounds of "the stream changed between the read and the write" before a lifecycle call gives up. */
export const MAX_ROUNDS = 50;
export const ROUND_BACKOFF = { maxAttempts: MAX_ROUNDS, baseDelayMs: 2, maxDelayMs: 100 };

/** The state item's status for a write that keeps the stream's deletion state as read. */
export function statusOf(view: StreamView): 0 | 1 | 2 {
  return view.tombstoned ? 2 : view.softDeleted ? 1 : 0;
}

/** Whether retention or an unfinished erasure gives `enforceRetention` work on the stream. */
export function needsVisits(meta: StreamMeta): boolean {
  return meta.maxCount !== undefined || meta.maxAge !== undefined || meta.erasedBelow < meta.eraseBelow;
}

/** The write of `next` (whose revision is the read one's + 1) if the state item is still as read. */
export function putState(
  ctx: StoreContext,
  streamId: string,
  read: StreamMeta,
  next: StreamMeta,
): TransactWriteItem {
  return {
    Put: {
      TableName: ctx.tableName,
      Item: metaItem(streamId, next),
      ...revisionCondition(read.revision),
    },
  };
}

/** No event follows `version`: the check that makes a delete or truncation atomic with the version it read. */
export function nothingAfter(ctx: StoreContext, streamId: string, version: number): TransactWriteItem {
  return {
    ConditionCheck: {
      TableName: ctx.tableName,
      Key: streamKey(streamId, version + 1),
      ConditionExpression: 'attribute_not_exists(pk)',
    },
  };
}

export function register(ctx: StoreContext, streamId: string): TransactWriteItem {
  return { Put: { TableName: ctx.tableName, Item: retentionKey(streamId) } };
}

/**
 * Sends one lifecycle transaction. True when it committed; false when a condition failed (the stream or its state
 * item changed since it was read: read again and decide again).
 */
export async function commit(
  ctx: StoreContext,
  items: TransactWriteItem[],
  operation: Operation,
  streamId: string,
): Promise<boolean> {
  const token = randomUUID();
  try {
    await ctx.retrying(() =>
      ctx.client.send(new TransactWriteItemsCommand({ TransactItems: items, ClientRequestToken: token })),
    );
    return true;
  } catch (err) {
    const reasons = (err as { CancellationReasons?: Array<{ Code?: string }> }).CancellationReasons;
    if (reasons?.some((r) => r.Code === 'ConditionalCheckFailed')) return false;
    throw mapError(err, { operation, request: 'TransactWriteItems (stream state)', streamId });
  }
}

export function lostRaces(streamId: string): never {
  throw new EventStoreError(
    ErrorCodes.UNAVAILABLE,
    `Stream '${streamId}': the call lost ${MAX_ROUNDS} races in a row to concurrent writers; nothing was changed`,
    { streamId },
  );
}

export function checkBefore(streamId: string, before: number, version: number, argument: string): void {
  if (before > version + 1) {
    throw new InvalidArgumentError(
      `Stream '${streamId}': ${argument} ${before} is past the stream's end (version ${version})`,
      { argument, streamId },
    );
  }
}

/**
 * Erases what the state item `meta` (as written) says is due, and then takes the stream off the retention list
 * unless retention keeps it there. A failure leaves it on the list, so `enforceRetention` finishes the erasure.
 */
export async function finish(deps: LifecycleDeps, streamId: string, meta: StreamMeta, operation: Operation) {
  if (meta.erasedBelow >= meta.eraseBelow) return 0;
  let erased: number;
  try {
    erased = await erase(deps.ctx, streamId, meta, operation, deps.closing);
  } catch (err) {
    if (!isEventStoreError(err)) throw err;
    // The change itself is committed: say so, keeping the failure's code, so that the caller retries the erasure
    // rather than the change.
    throw new EventStoreError(
      err.code,
      `${err.message}. The ${operation} took effect and its events are hidden, but erasing their data stopped; retry the call or run enforceRetention to finish it`,
      { cause: err, streamId, operation },
    );
  }
  if (!deps.closing() && !needsVisits({ ...meta, erasedBelow: meta.eraseBelow })) {
    await unregister(deps.ctx, streamId, meta.revision, operation);
  }
  return erased;
}

/** Drops the stream from the retention list, unless its state item changed since `revision` was read. */
export async function unregister(
  ctx: StoreContext,
  streamId: string,
  revision: number,
  operation: Operation,
) {
  if (revision === 0) {
    await ctx.call({ operation, request: 'DeleteItem (retention list)', streamId }, () =>
      ctx.client.send(new DeleteItemCommand({ TableName: ctx.tableName, Key: retentionKey(streamId) })),
    );
    return;
  }
  await commit(
    ctx,
    [
      { Delete: { TableName: ctx.tableName, Key: retentionKey(streamId) } },
      {
        ConditionCheck: { TableName: ctx.tableName, Key: stateKey(streamId), ...revisionCondition(revision) },
      },
    ],
    operation,
    streamId,
  );
}
