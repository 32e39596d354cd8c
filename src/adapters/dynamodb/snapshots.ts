import { GetItemCommand, type TransactWriteItem, TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import type { CallContext, PreparedSnapshot } from '../../adapter/index.js';
import {
  ErrorCodes,
  EventStoreError,
  type JsonValue,
  type Snapshot,
  StreamDeletedError,
} from '../../contract/index.js';
import type { StoreContext } from './context.js';
import { type Item, SNAPSHOT_ATTR, SNAPSHOT_SORT_KEY, STREAM_PREFIX } from './items.js';
import { mapError } from './map-error.js';
import { decodeMeta, revisionCondition, stateKey } from './stream-meta.js';

/**
 * A stream's snapshot is one item in its partition, `sk = SNAPSHOT`. It is ordered against the stream's lifecycle by
 * the stream's state item (`sk = VERSION~`, see stream-meta.ts): a save is a transaction conditional on the state
 * item's revision as read, and a delete's transaction (lifecycle.ts) deletes the snapshot with its state change. So
 * a snapshot saved before a delete is removed by it, a save that raced a delete is refused and re-decided, and a save
 * after a hard delete finds the tombstone.
 */

/** Saves that lost the race to a concurrent lifecycle change, in a row, before the save gives up. */
const MAX_ROUNDS = 10;

export function snapshotKey(streamId: string): Item {
  return { pk: { S: STREAM_PREFIX + streamId }, sk: { S: SNAPSHOT_SORT_KEY } };
}

/** The delete of the stream's snapshot, for a lifecycle transaction (a Delete of an absent item is a no-op). */
export function forgetSnapshot(ctx: StoreContext, streamId: string): TransactWriteItem {
  return { Delete: { TableName: ctx.tableName, Key: snapshotKey(streamId) } };
}

async function readState(
  ctx: StoreContext,
  streamId: string,
  call: CallContext,
  operation: 'saveSnapshot' | 'loadSnapshot',
) {
  const out = await ctx.call({ operation, request: 'GetItem (stream state)', streamId }, () =>
    ctx.client.send(
      new GetItemCommand({ TableName: ctx.tableName, Key: stateKey(streamId), ConsistentRead: true }),
      { abortSignal: call.signal },
    ),
  );
  return decodeMeta(out.Item);
}

/**
 * Reads the stream's state item, then writes the snapshot in a transaction with the check that the state item is
 * unchanged; a tombstoned stream is STREAM_DELETED. A retry writes the same item again.
 */
export async function saveSnapshot(ctx: StoreContext, p: PreparedSnapshot, call: CallContext): Promise<void> {
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const meta = await readState(ctx, p.streamId, call, 'saveSnapshot');
    if (meta.status === 2) throw new StreamDeletedError(p.streamId);
    const put: TransactWriteItem = {
      Put: {
        TableName: ctx.tableName,
        Item: {
          ...snapshotKey(p.streamId),
          [SNAPSHOT_ATTR.state]: { S: p.stateJson },
          [SNAPSHOT_ATTR.version]: { N: String(p.version) },
          [SNAPSHOT_ATTR.schemaVersion]: { N: String(p.schemaVersion) },
          [SNAPSHOT_ATTR.savedAt]: { N: String(Date.now()) },
        },
      },
    };
    const check: TransactWriteItem = {
      ConditionCheck: {
        TableName: ctx.tableName,
        Key: stateKey(p.streamId),
        ...revisionCondition(meta.revision),
      },
    };
    try {
      await ctx.retrying(() =>
        ctx.client.send(new TransactWriteItemsCommand({ TransactItems: [put, check] }), {
          abortSignal: call.signal,
        }),
      );
      return;
    } catch (err) {
      const reasons = (err as { CancellationReasons?: Array<{ Code?: string }> }).CancellationReasons;
      if (reasons?.some((r) => r.Code === 'ConditionalCheckFailed')) continue;
      throw mapError(err, {
        operation: 'saveSnapshot',
        request: 'TransactWriteItems (snapshot)',
        streamId: p.streamId,
      });
    }
  }
  throw new EventStoreError(
    ErrorCodes.UNAVAILABLE,
    `Stream '${p.streamId}': its lifecycle changed ${MAX_ROUNDS} times in a row while its snapshot was saved; nothing was saved`,
    { streamId: p.streamId, operation: 'saveSnapshot' },
  );
}

/** Two strongly consistent GetItems at once: the snapshot, and the state item for a tombstone. */
export async function loadSnapshot(
  ctx: StoreContext,
  streamId: string,
  call: CallContext,
): Promise<Snapshot | null> {
  const [meta, out] = await Promise.all([
    readState(ctx, streamId, call, 'loadSnapshot'),
    ctx.call({ operation: 'loadSnapshot', request: 'GetItem (snapshot)', streamId }, () =>
      ctx.client.send(
        new GetItemCommand({ TableName: ctx.tableName, Key: snapshotKey(streamId), ConsistentRead: true }),
        { abortSignal: call.signal },
      ),
    ),
  ]);
  if (meta.status === 2) throw new StreamDeletedError(streamId);
  const item = out.Item;
  if (item === undefined) return null;
  return {
    state: JSON.parse(item[SNAPSHOT_ATTR.state]!.S!) as JsonValue,
    version: Number(item[SNAPSHOT_ATTR.version]!.N),
    schemaVersion: Number(item[SNAPSHOT_ATTR.schemaVersion]!.N),
  };
}
