import { randomUUID } from 'node:crypto';
import {
  DeleteItemCommand,
  GetItemCommand,
  QueryCommand,
  type TransactWriteItem,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import {
  expectedVersionHolds,
  type PreparedDeleteStream,
  type PreparedSetStreamMetadata,
  type PreparedTruncateStream,
} from '../../adapter/index.js';
import {
  type DeleteStreamResult,
  ErrorCodes,
  EventStoreError,
  InvalidArgumentError,
  type Operation,
  type RetentionResult,
  StreamDeletedError,
  type StreamMetadataResult,
  WrongExpectedVersionError,
} from '../../contract/index.js';
import type { StoreContext } from './context.js';
import { erase } from './erasure.js';
import {
  decodeCreatedAt,
  decodeVersion,
  EVENT_ATTR,
  type Item,
  isEvent,
  pad,
  STREAM_PREFIX,
  streamKey,
  VERSION_PREFIX,
} from './items.js';
import { mapError } from './map-error.js';
import { backoffMs, sleep } from './retry.js';
import type { StreamHeads } from './stream-heads.js';
import {
  decodeMeta,
  metadataOf,
  metaItem,
  RETENTION_PK,
  readView,
  retentionKey,
  revisionCondition,
  type StreamMeta,
  type StreamView,
  stateKey,
  tombstoneFence,
} from './stream-meta.js';

export interface LifecycleDeps {
  ctx: StoreContext;
  heads: StreamHeads;
  closing: () => boolean;
}

/** Rounds of "the stream changed between the read and the write" before a lifecycle call gives up. */
const MAX_ROUNDS = 50;
const ROUND_BACKOFF = { maxAttempts: MAX_ROUNDS, baseDelayMs: 2, maxDelayMs: 100 };

/** The state item's status for a write that keeps the stream's deletion state as read. */
function statusOf(view: StreamView): 0 | 1 | 2 {
  return view.tombstoned ? 2 : view.softDeleted ? 1 : 0;
}

/** Whether retention or an unfinished erasure gives `enforceRetention` work on the stream. */
function needsVisits(meta: StreamMeta): boolean {
  return meta.maxCount !== undefined || meta.maxAge !== undefined || meta.erasedBelow < meta.eraseBelow;
}

/** The write of `next` (whose revision is the read one's + 1) if the state item is still as read. */
function putState(
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
function nothingAfter(ctx: StoreContext, streamId: string, version: number): TransactWriteItem {
  return {
    ConditionCheck: {
      TableName: ctx.tableName,
      Key: streamKey(streamId, version + 1),
      ConditionExpression: 'attribute_not_exists(pk)',
    },
  };
}

function register(ctx: StoreContext, streamId: string): TransactWriteItem {
  return { Put: { TableName: ctx.tableName, Item: retentionKey(streamId) } };
}

/**
 * Sends one lifecycle transaction. True when it committed; false when a condition failed (the stream or its state
 * item changed since it was read: read again and decide again).
 */
async function commit(
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

function lostRaces(streamId: string): never {
  throw new EventStoreError(
    ErrorCodes.UNAVAILABLE,
    `Stream '${streamId}': the call lost ${MAX_ROUNDS} races in a row to concurrent writers; nothing was changed`,
    { streamId },
  );
}

function checkBefore(streamId: string, before: number, version: number, argument: string): void {
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
async function finish(deps: LifecycleDeps, streamId: string, meta: StreamMeta, operation: Operation) {
  if (meta.erasedBelow >= meta.eraseBelow) return 0;
  const erased = await erase(deps.ctx, streamId, meta, operation, deps.closing);
  if (!deps.closing() && !needsVisits({ ...meta, erasedBelow: meta.eraseBelow })) {
    await unregister(deps.ctx, streamId, meta.revision, operation);
  }
  return erased;
}

export async function deleteStream(
  deps: LifecycleDeps,
  p: PreparedDeleteStream,
): Promise<DeleteStreamResult> {
  const { ctx } = deps;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    if (round > 0) await sleep(backoffMs(round, ROUND_BACKOFF));
    const view = await readView(ctx, p.streamId, 0, 'deleteStream');
    const { meta, version } = view;
    if (view.tombstoned) {
      if (!p.hard) throw new StreamDeletedError(p.streamId);
      // A retried hard delete: what it asked for holds. It finishes an erasure a crash interrupted.
      await finish(deps, p.streamId, meta, 'deleteStream');
      return { version: meta.version };
    }
    if (!expectedVersionHolds(p.expectedVersion, view)) {
      throw new WrongExpectedVersionError(p.streamId, p.expectedVersion, version, {
        reason: 'delete at a wrong expected version',
      });
    }
    if (!p.hard && (version === 0 || view.softDeleted)) {
      await finish(deps, p.streamId, meta, 'deleteStream');
      return { version };
    }
    const next: StreamMeta = p.hard
      ? {
          ...meta,
          status: 2,
          version,
          truncateBefore: version + 1,
          eraseBelow: Math.max(meta.eraseBelow, version + 1),
          metadataVersion: 0,
          maxCount: undefined,
          maxAge: undefined,
          custom: undefined,
          revision: meta.revision + 1,
        }
      : {
          ...meta,
          status: 1,
          version,
          truncateBefore: Math.max(meta.truncateBefore, version + 1),
          eraseBelow: Math.max(meta.eraseBelow, version + 1),
          revision: meta.revision + 1,
        };
    const items = [
      putState(ctx, p.streamId, meta, next),
      // The fence is also the check that nothing follows `version`.
      p.hard
        ? {
            Put: {
              TableName: ctx.tableName,
              Item: tombstoneFence(p.streamId, version),
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          }
        : nothingAfter(ctx, p.streamId, version),
    ];
    if (next.erasedBelow < next.eraseBelow) items.push(register(ctx, p.streamId));
    if (!(await commit(ctx, items, 'deleteStream', p.streamId))) continue;
    deps.heads.forget(p.streamId);
    await finish(deps, p.streamId, next, 'deleteStream');
    return { version };
  }
  lostRaces(p.streamId);
}

export async function truncateStream(deps: LifecycleDeps, p: PreparedTruncateStream): Promise<void> {
  const { ctx } = deps;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    if (round > 0) await sleep(backoffMs(round, ROUND_BACKOFF));
    const view = await readView(ctx, p.streamId, 0, 'truncateStream');
    const { meta, version } = view;
    if (view.tombstoned) throw new StreamDeletedError(p.streamId);
    if (!expectedVersionHolds(p.expectedVersion, view)) {
      throw new WrongExpectedVersionError(p.streamId, p.expectedVersion, version, {
        reason: 'truncate at a wrong expected version',
      });
    }
    checkBefore(p.streamId, p.before, version, 'options.before');
    if (p.before <= meta.truncateBefore) {
      await finish(deps, p.streamId, meta, 'truncateStream');
      return;
    }
    const next: StreamMeta = {
      ...meta,
      status: statusOf(view),
      version: Math.max(meta.version, version),
      truncateBefore: p.before,
      eraseBelow: Math.max(meta.eraseBelow, p.before),
      revision: meta.revision + 1,
    };
    const items = [
      putState(ctx, p.streamId, meta, next),
      nothingAfter(ctx, p.streamId, version),
      register(ctx, p.streamId),
    ];
    if (!(await commit(ctx, items, 'truncateStream', p.streamId))) continue;
    deps.heads.forget(p.streamId);
    await finish(deps, p.streamId, next, 'truncateStream');
    return;
  }
  lostRaces(p.streamId);
}

export async function getStreamMetadata(ctx: StoreContext, streamId: string): Promise<StreamMetadataResult> {
  const out = await ctx.call(
    { operation: 'getStreamMetadata', request: 'GetItem (stream state)', streamId },
    () =>
      ctx.client.send(
        new GetItemCommand({ TableName: ctx.tableName, Key: stateKey(streamId), ConsistentRead: true }),
      ),
  );
  const meta = decodeMeta(out.Item);
  if (meta.status === 2) throw new StreamDeletedError(streamId);
  return { metadata: metadataOf(meta), metadataVersion: meta.metadataVersion };
}

export async function setStreamMetadata(
  deps: LifecycleDeps,
  p: PreparedSetStreamMetadata,
): Promise<{ metadataVersion: number }> {
  const { ctx } = deps;
  const { maxCount, maxAge, truncateBefore, custom } = p.metadata;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    if (round > 0) await sleep(backoffMs(round, ROUND_BACKOFF));
    const view = await readView(ctx, p.streamId, 0, 'setStreamMetadata');
    const { meta, version } = view;
    if (view.tombstoned) throw new StreamDeletedError(p.streamId);
    if (p.expectedMetadataVersion !== 'any' && p.expectedMetadataVersion !== meta.metadataVersion) {
      throw new WrongExpectedVersionError(p.streamId, p.expectedMetadataVersion, meta.metadataVersion, {
        reason: 'the stream metadata is at another version',
      });
    }
    let truncates = false;
    if (truncateBefore !== undefined) {
      checkBefore(p.streamId, truncateBefore, version, 'metadata.truncateBefore');
      if (truncateBefore < meta.truncateBefore) {
        throw new InvalidArgumentError(
          `Stream '${p.streamId}': metadata.truncateBefore ${truncateBefore} is below the stream's ${meta.truncateBefore}; a truncation cannot be undone`,
          { argument: 'metadata.truncateBefore', streamId: p.streamId },
        );
      }
      truncates = truncateBefore > meta.truncateBefore;
    }
    const next: StreamMeta = {
      ...meta,
      status: statusOf(view),
      version: truncates ? Math.max(meta.version, version) : meta.version,
      truncateBefore: truncates ? truncateBefore! : meta.truncateBefore,
      eraseBelow: truncates ? Math.max(meta.eraseBelow, truncateBefore!) : meta.eraseBelow,
      metadataVersion: meta.metadataVersion + 1,
      maxCount,
      maxAge,
      custom,
      revision: meta.revision + 1,
    };
    const items = [putState(ctx, p.streamId, meta, next)];
    if (needsVisits(next)) items.push(register(ctx, p.streamId));
    if (!(await commit(ctx, items, 'setStreamMetadata', p.streamId))) continue;
    if (truncates) deps.heads.forget(p.streamId);
    await finish(deps, p.streamId, next, 'setStreamMetadata');
    return { metadataVersion: next.metadataVersion };
  }
  lostRaces(p.streamId);
}

/**
 * The first version at or after `from` that `maxAge` does not hide: events are scanned from the oldest, and the
 * first one recorded after the cutoff ends the scan (so what is erased is always a prefix of the stream).
 */
async function firstUnexpired(
  ctx: StoreContext,
  streamId: string,
  from: number,
  version: number,
  cutoff: number,
): Promise<number> {
  let start = from;
  while (start <= version) {
    const out = await ctx.call({ operation: 'enforceRetention', request: 'Query (ages)', streamId }, () =>
      ctx.client.send(
        new QueryCommand({
          TableName: ctx.tableName,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: {
            ':pk': { S: STREAM_PREFIX + streamId },
            ':from': { S: VERSION_PREFIX + pad(start) },
            ':to': { S: VERSION_PREFIX + pad(version) },
          },
          ProjectionExpression: [EVENT_ATTR.eventId, EVENT_ATTR.version, EVENT_ATTR.createdAt].join(', '),
          ConsistentRead: true,
          Limit: 100,
        }),
      ),
    );
    const items: Item[] = out.Items ?? [];
    for (const item of items) {
      if (isEvent(item) && decodeCreatedAt(item) > cutoff) return decodeVersion(item);
    }
    if (!out.LastEvaluatedKey || items.length === 0) return version + 1;
    start = decodeVersion(items.at(-1)!) + 1;
  }
  return version + 1;
}

/** Raises the stream's erasure point to what its retention hides now, erases, and forgets the stream if done. */
async function enforceOne(deps: LifecycleDeps, streamId: string): Promise<number> {
  const { ctx } = deps;
  for (let round = 0; round < 5; round++) {
    const view = await readView(ctx, streamId, 0, 'enforceRetention');
    const { meta, version } = view;
    let floor = meta.eraseBelow;
    if (meta.maxCount !== undefined) floor = Math.max(floor, version - meta.maxCount + 1);
    if (meta.maxAge !== undefined) {
      floor = await firstUnexpired(ctx, streamId, floor, version, Date.now() - meta.maxAge * 1000);
    }
    let next = meta;
    if (floor > meta.eraseBelow) {
      next = {
        ...meta,
        status: statusOf(view),
        version: Math.max(meta.version, version),
        eraseBelow: floor,
        revision: meta.revision + 1,
      };
      if (!(await commit(ctx, [putState(ctx, streamId, meta, next)], 'enforceRetention', streamId))) continue;
    }
    if (next.erasedBelow < next.eraseBelow) return finish(deps, streamId, next, 'enforceRetention');
    // Nothing to erase: a stream whose retention was removed leaves the list.
    if (!needsVisits(next)) await unregister(ctx, streamId, next.revision, 'enforceRetention');
    return 0;
  }
  return 0;
}

/** Drops the stream from the retention list, unless its state item changed since `revision` was read. */
async function unregister(ctx: StoreContext, streamId: string, revision: number, operation: Operation) {
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

/**
 * Visits every stream on the retention list (streams with `maxCount` or `maxAge`, and streams whose erasure a crash
 * interrupted), one after another, and erases what their retention hides.
 */
export async function enforceRetention(deps: LifecycleDeps): Promise<RetentionResult> {
  const { ctx } = deps;
  let removedEvents = 0;
  let startKey: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue> | undefined;
  do {
    const out = await ctx.call({ operation: 'enforceRetention', request: 'Query (retention list)' }, () =>
      ctx.client.send(
        new QueryCommand({
          TableName: ctx.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: RETENTION_PK } },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      ),
    );
    for (const item of out.Items ?? []) {
      if (deps.closing()) return { removedEvents };
      removedEvents += await enforceOne(deps, item.sk!.S!.slice(STREAM_PREFIX.length));
    }
    startKey = out.LastEvaluatedKey;
  } while (startKey);
  return { removedEvents };
}
