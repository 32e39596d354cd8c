import {
  BatchGetItemCommand,
  GetItemCommand,
  type KeysAndAttributes,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import { ErrorCodes, EventStoreError, type Operation } from '../../contract/index.js';
import type { StoreContext } from './context.js';
import {
  decodeRecordedAt,
  decodeVersion,
  EVENT_ATTR,
  type Item,
  STREAM_PREFIX,
  VERSION_PREFIX,
} from './items.js';
import { backoffMs, sleep } from './retry.js';
import { decodeMeta, hiddenUpTo, type StreamMeta, stateKey, visibleFrom } from './stream-meta.js';

/** What a read must hide of one stream: versions below `from`, events recorded at or before `cutoff`. */
export interface StreamFilter {
  tombstoned: boolean;
  from: number;
  cutoff: number;
}

export const NO_FILTER: StreamFilter = Object.freeze({
  tombstoned: false,
  from: 1,
  cutoff: Number.NEGATIVE_INFINITY,
});

export function shows(filter: StreamFilter, item: Item): boolean {
  return decodeVersion(item) >= filter.from && decodeRecordedAt(item) > filter.cutoff;
}

/** The stream's last version (event or stub), for `maxCount`. */
async function lastVersion(ctx: StoreContext, streamId: string, operation: Operation): Promise<number> {
  const out = await ctx.call({ operation, request: 'Query (stream version)', streamId }, () =>
    ctx.client.send(
      new QueryCommand({
        TableName: ctx.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :v)',
        ExpressionAttributeValues: { ':pk': { S: STREAM_PREFIX + streamId }, ':v': { S: VERSION_PREFIX } },
        ProjectionExpression: '#v',
        ExpressionAttributeNames: { '#v': EVENT_ATTR.version },
        ScanIndexForward: false,
        Limit: 2,
        ConsistentRead: true,
      }),
    ),
  );
  // A tombstone's fence carries no version; a tombstoned stream is never filtered by version.
  const top = (out.Items ?? []).find((i) => i[EVENT_ATTR.version] !== undefined);
  return top === undefined ? 0 : decodeVersion(top);
}

async function filterOf(
  ctx: StoreContext,
  streamId: string,
  meta: StreamMeta,
  now: number,
  operation: Operation,
): Promise<StreamFilter> {
  if (meta.revision === 0) return NO_FILTER;
  const version = meta.maxCount === undefined ? 0 : await lastVersion(ctx, streamId, operation);
  return { tombstoned: meta.status === 2, from: visibleFrom(meta, version), cutoff: hiddenUpTo(meta, now) };
}

/** The filter of one stream, from its state item (one strongly consistent GetItem; one more Query for maxCount). */
export async function streamFilter(ctx: StoreContext, streamId: string): Promise<StreamFilter> {
  const out = await ctx.call({ operation: 'readStream', request: 'GetItem (stream state)', streamId }, () =>
    ctx.client.send(
      new GetItemCommand({ TableName: ctx.tableName, Key: stateKey(streamId), ConsistentRead: true }),
    ),
  );
  return filterOf(ctx, streamId, decodeMeta(out.Item), Date.now(), 'readStream');
}

/**
 * The filters of streams, read strongly consistently (BatchGetItem of their state items, 100 at a time), so that a
 * delete, truncation or retention that returned before the read hides its events.
 */
export async function streamFilters(
  ctx: StoreContext,
  streamIds: Iterable<string>,
): Promise<Map<string, StreamFilter>> {
  const ids = [...new Set(streamIds)];
  const metas = new Map<string, StreamMeta>();
  for (let i = 0; i < ids.length; i += 100) {
    let request: KeysAndAttributes | undefined = {
      Keys: ids.slice(i, i + 100).map(stateKey),
      ConsistentRead: true,
    };
    for (let round = 0; request?.Keys && request.Keys.length > 0; round++) {
      const keys: KeysAndAttributes = request;
      const out = await ctx.call({ operation: 'readAll', request: 'BatchGetItem (stream states)' }, () =>
        ctx.client.send(new BatchGetItemCommand({ RequestItems: { [ctx.tableName]: keys } })),
      );
      for (const item of out.Responses?.[ctx.tableName] ?? []) {
        metas.set(item.pk!.S!.slice(STREAM_PREFIX.length), decodeMeta(item));
      }
      request = out.UnprocessedKeys?.[ctx.tableName];
      if (request?.Keys?.length) {
        if (round >= 20) {
          throw new EventStoreError(
            ErrorCodes.UNAVAILABLE,
            'readAll: DynamoDB left stream states unprocessed 20 times in a row',
          );
        }
        await sleep(backoffMs(round + 1, ctx.retry));
      }
    }
  }
  const now = Date.now();
  const filters = new Map<string, StreamFilter>();
  for (const id of ids) {
    const meta = metas.get(id);
    filters.set(id, meta === undefined ? NO_FILTER : await filterOf(ctx, id, meta, now, 'readAll'));
  }
  return filters;
}
