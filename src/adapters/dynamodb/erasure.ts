import {
  BatchWriteItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { ErrorCodes, EventStoreError, type Operation } from '../../contract/index.js';
import type { StoreContext } from './context.js';
import { EVENT_ATTR, type Item, isEvent, versionRange } from './items.js';
import { mapError } from './map-error.js';
import { backoffMs, sleep } from './retry.js';
import { erasedStub, STATE_ATTR, type StreamMeta, stateKey } from './stream-meta.js';

/** Events read per round of the erasure; each round ends by moving the stream's progress marker. */
const ROUND = 100;
/** BatchWriteItem's limit. */
const BATCH = 25;
/** Rounds of unprocessed items before the erasure gives up (its marker lets the next call resume). */
const MAX_UNPROCESSED_ROUNDS = 20;

const STUB_PROJECTION = [
  'pk',
  'sk',
  EVENT_ATTR.eventId,
  EVENT_ATTR.version,
  EVENT_ATTR.position,
  EVENT_ATTR.logBucket,
  EVENT_ATTR.createdAt,
  EVENT_ATTR.importedCreatedAt,
  EVENT_ATTR.skipTo,
].join(', ');

/**
 * Erases the stream's events below `meta.eraseBelow`, from `meta.erasedBelow` on: each event item is replaced by
 * its stub (keys, version, position; no id, type, data or metadata), 100 events per round, in four concurrent
 * BatchWriteItem requests of 25, and after each round the state item's `ed` marker moves past them. A crash (or a failed request)
 * leaves a prefix erased and the marker at or behind it; the next call, for the same stream, starts from the marker
 * and skips what is already a stub. Every erased event was hidden from reads before this began (below `er`).
 * Returns how many events it erased.
 */
export async function erase(
  ctx: StoreContext,
  streamId: string,
  meta: StreamMeta,
  operation: Operation,
  closing: () => boolean = () => false,
): Promise<number> {
  let from = meta.erasedBelow;
  const target = meta.eraseBelow;
  let erased = 0;
  while (from < target && !closing()) {
    const out = await ctx.call({ operation, request: 'Query (erasure)', streamId }, () =>
      ctx.client.send(
        new QueryCommand({
          TableName: ctx.tableName,
          ...versionRange(streamId, from, target - 1),
          ProjectionExpression: STUB_PROJECTION,
          ConsistentRead: true,
          Limit: ROUND,
        }),
      ),
    );
    const items = out.Items ?? [];
    const events = items.filter(isEvent);
    // The round's (at most four) requests at once; the marker moves only once all of them succeeded.
    const batches: Item[][] = [];
    for (let i = 0; i < events.length; i += BATCH) batches.push(events.slice(i, i + BATCH));
    await Promise.all(batches.map((batch) => writeStubs(ctx, streamId, batch, operation)));
    erased += events.length;
    const last = items.at(-1);
    const next = out.LastEvaluatedKey && last ? Number(last[EVENT_ATTR.version]!.N) + 1 : target;
    await markErased(ctx, streamId, next, operation);
    from = next;
  }
  return erased;
}

async function writeStubs(ctx: StoreContext, streamId: string, events: Item[], operation: Operation) {
  let requests: WriteRequest[] = events.map((e) => ({ PutRequest: { Item: erasedStub(e) } }));
  for (let round = 0; requests.length > 0; round++) {
    if (round >= MAX_UNPROCESSED_ROUNDS) {
      throw new EventStoreError(
        ErrorCodes.UNAVAILABLE,
        `Stream '${streamId}': DynamoDB left erasure writes unprocessed ${MAX_UNPROCESSED_ROUNDS} times; the stream reads as erased, and the next deleteStream, truncateStream or enforceRetention resumes the erasure`,
        { streamId },
      );
    }
    if (round > 0) await sleep(backoffMs(round, ctx.retry));
    const batch = requests;
    const out = await ctx.call({ operation, request: 'BatchWriteItem (erasure)', streamId }, () =>
      ctx.client.send(new BatchWriteItemCommand({ RequestItems: { [ctx.tableName]: batch } })),
    );
    requests = out.UnprocessedItems?.[ctx.tableName] ?? [];
  }
}

/** Moves the erasure marker up to `next` (never back). */
async function markErased(ctx: StoreContext, streamId: string, next: number, operation: Operation) {
  try {
    await ctx.retrying(() =>
      ctx.client.send(
        new UpdateItemCommand({
          TableName: ctx.tableName,
          Key: stateKey(streamId),
          UpdateExpression: 'SET #ed = :next',
          ConditionExpression: 'attribute_exists(pk) AND #ed < :next',
          ExpressionAttributeNames: { '#ed': STATE_ATTR.erasedBelow },
          ExpressionAttributeValues: { ':next': { N: String(next) } },
        }),
      ),
    );
  } catch (err) {
    // Another erasure of the same stream is ahead: nothing to record.
    if ((err as { name?: string }).name === 'ConditionalCheckFailedException') return;
    throw mapError(err, { operation, request: 'UpdateItem (erasure marker)', streamId });
  }
}
