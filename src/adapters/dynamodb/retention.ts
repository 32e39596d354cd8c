import { type AttributeValue, QueryCommand } from '@aws-sdk/client-dynamodb';
import type { RetentionResult } from '../../contract/index.js';
import type { StoreContext } from './context.js';
import {
  decodeRecordedAt,
  decodeVersion,
  EVENT_ATTR,
  type Item,
  isEvent,
  STREAM_PREFIX,
  versionRange,
} from './items.js';
import {
  commit,
  finish,
  type LifecycleDeps,
  needsVisits,
  putState,
  statusOf,
  unregister,
} from './state-writes.js';
import { RETENTION_PK, readView } from './stream-meta.js';

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
          ...versionRange(streamId, start, version),
          ProjectionExpression: [
            EVENT_ATTR.eventId,
            EVENT_ATTR.version,
            EVENT_ATTR.createdAt,
            EVENT_ATTR.importedCreatedAt,
          ].join(', '),
          ConsistentRead: true,
          Limit: 100,
        }),
      ),
    );
    const items: Item[] = out.Items ?? [];
    for (const item of items) {
      if (isEvent(item) && decodeRecordedAt(item) > cutoff) return decodeVersion(item);
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

/**
 * Visits every stream on the retention list (streams with `maxCount` or `maxAge`, and streams whose erasure a crash
 * interrupted), one after another, and erases what their retention hides.
 */
export async function enforceRetention(deps: LifecycleDeps): Promise<RetentionResult> {
  const { ctx } = deps;
  let removedEvents = 0;
  let startKey: Record<string, AttributeValue> | undefined;
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
