import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import type { StoreContext } from './context.js';
import {
  COUNTER_KEY,
  decodeCounter,
  decodePosition,
  EVENT_ATTR,
  type Item,
  LOG_INDEX,
  LOG_PREFIX,
} from './items.js';
import { mapError } from './map-error.js';
import { readLog } from './read-all.js';

/**
 * Subscription items, in the events' table (docs/dynamodb.md, "Subscriptions"): a checkpoint item per name,
 * `pk = CHECKPOINT#<name>`, `sk = CHECKPOINT`, `pos` the last handled position (a version for a stream
 * subscription); and a lease item per name, `pk = LEASE#<name>`, `sk = LEASE`, `owner` and `exp` (expiry in epoch
 * milliseconds of the taking client's clock, so hosts must agree on time to well within the lease).
 */
const CHECKPOINT_SK = 'CHECKPOINT';
const LEASE_SK = 'LEASE';

function checkpointKey(name: string): Item {
  return { pk: { S: `CHECKPOINT#${name}` }, sk: { S: CHECKPOINT_SK } };
}

function leaseKey(name: string): Item {
  return { pk: { S: `LEASE#${name}` }, sk: { S: LEASE_SK } };
}

export async function loadCheckpoint(ctx: StoreContext, name: string): Promise<bigint | undefined> {
  const out = await ctx.call({ operation: 'checkpoints', request: 'GetItem (checkpoint)' }, () =>
    ctx.client.send(
      new GetItemCommand({ TableName: ctx.tableName, Key: checkpointKey(name), ConsistentRead: true }),
    ),
  );
  const pos = out.Item?.pos?.N;
  return pos === undefined ? undefined : BigInt(pos);
}

/** The checkpoint's Put, as a TransactWriteItem for a transactional handler, or sent alone by `saveCheckpoint`. */
export function checkpointPut(ctx: StoreContext, name: string, position: bigint): TransactWriteItem {
  return {
    Put: { TableName: ctx.tableName, Item: { ...checkpointKey(name), pos: { N: position.toString() } } },
  };
}

/** Fails the transaction that carries it unless `owner` still holds the lease of `name`. */
export function leaseCheck(ctx: StoreContext, name: string, owner: string): TransactWriteItem {
  return {
    ConditionCheck: {
      TableName: ctx.tableName,
      Key: leaseKey(name),
      ConditionExpression: '#owner = :owner AND #exp > :now',
      ExpressionAttributeNames: { '#owner': 'owner', '#exp': 'exp' },
      ExpressionAttributeValues: { ':owner': { S: owner }, ':now': { N: String(Date.now()) } },
    },
  };
}

export async function saveCheckpoint(ctx: StoreContext, name: string, position: bigint): Promise<void> {
  const put = checkpointPut(ctx, name, position).Put!;
  await ctx.call({ operation: 'checkpoints', request: 'PutItem (checkpoint)' }, () =>
    ctx.client.send(new PutItemCommand({ TableName: put.TableName, Item: put.Item })),
  );
}

export async function deleteCheckpoint(ctx: StoreContext, name: string): Promise<void> {
  await ctx.call({ operation: 'checkpoints', request: 'DeleteItem (checkpoint)' }, () =>
    ctx.client.send(new DeleteItemCommand({ TableName: ctx.tableName, Key: checkpointKey(name) })),
  );
}

/** Takes or renews the lease with one conditional PutItem: free, expired, or already `owner`'s. */
export async function acquireLease(
  ctx: StoreContext,
  name: string,
  owner: string,
  ttlMs: number,
): Promise<boolean> {
  const now = Date.now();
  try {
    await ctx.retrying(() =>
      ctx.client.send(
        new PutItemCommand({
          TableName: ctx.tableName,
          Item: { ...leaseKey(name), owner: { S: owner }, exp: { N: String(now + ttlMs) } },
          ConditionExpression: 'attribute_not_exists(pk) OR #owner = :owner OR #exp <= :now',
          ExpressionAttributeNames: { '#owner': 'owner', '#exp': 'exp' },
          ExpressionAttributeValues: { ':owner': { S: owner }, ':now': { N: String(now) } },
        }),
      ),
    );
    return true;
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return false;
    throw mapError(err, { operation: 'subscribe', request: 'PutItem (lease)' });
  }
}

export async function releaseLease(ctx: StoreContext, name: string, owner: string): Promise<void> {
  try {
    await ctx.retrying(() =>
      ctx.client.send(
        new DeleteItemCommand({
          TableName: ctx.tableName,
          Key: leaseKey(name),
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': { S: owner } },
        }),
      ),
    );
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return;
    throw mapError(err, { operation: 'subscribe', request: 'DeleteItem (lease)' });
  }
}

/**
 * Where `from: 'end'` starts: the last position readAll returns now, as on every adapter. Events committed later,
 * at a higher position or in a hole the walk stopped at (an append that took its positions before the
 * subscription started and commits after it), are delivered.
 *
 * The walk starts at the last visible event whose positions were handed out at least `holeTimeoutMs` ago (by its
 * `ts`): every position below it is older, so it holds an event, a filler, or a hole that any reader fills without
 * waiting; from there the readAll walk goes on, without waiting for a young hole, to its end. So it reads only
 * what was appended in the last `holeTimeoutMs`. An append still uncommitted `holeTimeoutMs` after it took its
 * positions counts as crashed here, as it does for readers; if it commits later at those positions below the
 * starting point, this subscription does not see it.
 */
export async function lastPosition(ctx: StoreContext, options: LastPositionOptions): Promise<bigint> {
  const out = await ctx.call({ operation: 'subscribe', request: 'GetItem (counter)' }, () =>
    ctx.client.send(new GetItemCommand({ TableName: ctx.tableName, Key: COUNTER_KEY, ConsistentRead: true })),
  );
  let last = await settledBefore(ctx, decodeCounter(out.Item), Date.now() - options.holeTimeoutMs);
  const log = readLog(ctx, {
    after: last,
    pageSize: 1_000,
    holeTimeoutMs: options.holeTimeoutMs,
    holeWaitMs: 0,
    holes: options.holes,
  });
  for await (const item of log) last = decodePosition(item);
  return last;
}

export interface LastPositionOptions {
  holeTimeoutMs: number;
  /** The store's open holes, shared with its readAll (see LogReadOptions). */
  holes: Map<bigint, number>;
}

/** The highest position at or below `high` of a log item written (`ts`) at or before `before`; 0n when none. */
async function settledBefore(ctx: StoreContext, high: bigint, before: number): Promise<bigint> {
  for (let bucket = high / ctx.bucketSize; bucket >= 0n; bucket--) {
    let startKey: Item | undefined;
    do {
      const page = await ctx.call({ operation: 'subscribe', request: 'Query (log index, backwards)' }, () =>
        ctx.client.send(
          new QueryCommand({
            TableName: ctx.tableName,
            IndexName: LOG_INDEX,
            KeyConditionExpression: '#bucket = :b AND #position <= :p',
            ExpressionAttributeNames: { '#bucket': EVENT_ATTR.logBucket, '#position': EVENT_ATTR.position },
            ExpressionAttributeValues: {
              ':b': { S: LOG_PREFIX + bucket.toString() },
              ':p': { N: high.toString() },
            },
            ScanIndexForward: false,
            ExclusiveStartKey: startKey,
          }),
        ),
      );
      for (const item of page.Items ?? []) {
        const ts = item[EVENT_ATTR.createdAt]?.N;
        if (ts !== undefined && Number(ts) <= before) return decodePosition(item);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
  }
  return 0n;
}

/**
 * What a transactional handler receives as `context.tx` on DynamoDB: the items to add to its own
 * `TransactWriteItems` call, so that its writes, the checkpoint and a check that this instance still holds the
 * lease commit together. Reading `items` is the handler's promise to send them; a handler that never reads them
 * (it had nothing to write for this event) gets the checkpoint saved by the store after it returns.
 *
 * @example
 * store.subscribe({ name: 'totals', transactional: true, handler: async (e, { tx }) => {
 *   const { items } = tx as DynamoDBSubscriptionTransaction;
 *   await client.send(new TransactWriteItemsCommand({ TransactItems: [myPut(e), ...items] }));
 * } });
 */
export interface DynamoDBSubscriptionTransaction {
  /** The checkpoint's Put and the lease's ConditionCheck (two of the transaction's 100 items). */
  readonly items: readonly TransactWriteItem[];
}
