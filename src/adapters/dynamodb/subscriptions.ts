import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import type { StoreContext } from './context.js';
import { COUNTER_KEY, decodeCounter, type Item } from './items.js';
import { mapError } from './map-error.js';

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
 * The highest position handed out (the position counter): where `from: 'end'` starts. An append that took a
 * position before and commits after the subscription started is not delivered.
 */
export async function lastPosition(ctx: StoreContext): Promise<bigint> {
  const out = await ctx.call({ operation: 'subscribe', request: 'GetItem (counter)' }, () =>
    ctx.client.send(new GetItemCommand({ TableName: ctx.tableName, Key: COUNTER_KEY, ConsistentRead: true })),
  );
  return decodeCounter(out.Item);
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
