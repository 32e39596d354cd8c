import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { CallContext, PreparedSnapshot } from '../../adapter/index.js';
import type { JsonValue, Snapshot } from '../../contract/index.js';
import type { StoreContext } from './context.js';
import { SNAPSHOT_ATTR, SNAPSHOT_SORT_KEY, STREAM_PREFIX } from './items.js';

function key(streamId: string) {
  return { pk: { S: STREAM_PREFIX + streamId }, sk: { S: SNAPSHOT_SORT_KEY } };
}

/** One PutItem in the stream's partition, replacing the snapshot before it (a retry writes the same item again). */
export async function saveSnapshot(ctx: StoreContext, p: PreparedSnapshot, call: CallContext): Promise<void> {
  await ctx.call({ operation: 'saveSnapshot', request: 'PutItem (snapshot)', streamId: p.streamId }, () =>
    ctx.client.send(
      new PutItemCommand({
        TableName: ctx.tableName,
        Item: {
          ...key(p.streamId),
          [SNAPSHOT_ATTR.state]: { S: p.stateJson },
          [SNAPSHOT_ATTR.version]: { N: String(p.version) },
          [SNAPSHOT_ATTR.schemaVersion]: { N: String(p.schemaVersion) },
          [SNAPSHOT_ATTR.savedAt]: { N: String(Date.now()) },
        },
      }),
      { abortSignal: call.signal },
    ),
  );
}

/** One strongly consistent GetItem. */
export async function loadSnapshot(
  ctx: StoreContext,
  streamId: string,
  call: CallContext,
): Promise<Snapshot | null> {
  const out = await ctx.call({ operation: 'loadSnapshot', request: 'GetItem (snapshot)', streamId }, () =>
    ctx.client.send(
      new GetItemCommand({ TableName: ctx.tableName, Key: key(streamId), ConsistentRead: true }),
      { abortSignal: call.signal },
    ),
  );
  const item = out.Item;
  if (item === undefined) return null;
  return {
    state: JSON.parse(item[SNAPSHOT_ATTR.state]!.S!) as JsonValue,
    version: Number(item[SNAPSHOT_ATTR.version]!.N),
    schemaVersion: Number(item[SNAPSHOT_ATTR.schemaVersion]!.N),
  };
}
