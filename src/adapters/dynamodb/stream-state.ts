import { QueryCommand } from '@aws-sdk/client-dynamodb';
import type { PreparedAppend, StreamIdLookup } from '../../contract/index.js';
import type { StoreContext } from './context.js';
import {
  decodeRef,
  type EventRef,
  type Item,
  pad,
  REF_PROJECTION,
  STREAM_PREFIX,
  VERSION_PREFIX,
} from './items.js';
import type { StreamHead, StreamHeads } from './stream-heads.js';

/** What an append read of a stream: its version and some of its events (id and position by version). */
export interface StreamState {
  version: number;
  byVersion: Map<number, EventRef>;
  /** Ids of the most recent events read (the idempotency window), to their versions. */
  recentIds: Map<string, number>;
}

export function lookupState(state: StreamState): StreamIdLookup {
  return {
    currentVersion: state.version,
    idAt: (v) => state.byVersion.get(v)?.id,
    versionOf: (id) => state.recentIds.get(id),
  };
}

/** The same lookup over what the store remembers of the stream's end. */
export function lookupHead(head: StreamHead): StreamIdLookup {
  const firstKnown = head.version - head.ids.length + 1;
  return {
    currentVersion: head.version,
    idAt: (v) => (v >= firstKnown ? head.ids[v - firstKnown] : undefined),
    versionOf: (id) => {
      const i = head.ids.indexOf(id);
      return i < 0 ? undefined : firstKnown + i;
    },
  };
}

async function queryRefs(
  ctx: StoreContext,
  streamId: string,
  input: { from?: number; to?: number; limit: number },
): Promise<EventRef[]> {
  const values: Item = { ':pk': { S: STREAM_PREFIX + streamId } };
  let range: string;
  if (input.from !== undefined && input.to !== undefined) {
    range = 'sk BETWEEN :from AND :to';
    values[':from'] = { S: VERSION_PREFIX + pad(input.from) };
    values[':to'] = { S: VERSION_PREFIX + pad(input.to) };
  } else {
    range = 'begins_with(sk, :v)';
    values[':v'] = { S: VERSION_PREFIX };
  }
  const out = await ctx.call(
    { operation: 'append', request: 'Query (stream)', streamId },
    () =>
      ctx.client.send(
        new QueryCommand({
          TableName: ctx.tableName,
          KeyConditionExpression: `pk = :pk AND ${range}`,
          ExpressionAttributeValues: values,
          ProjectionExpression: REF_PROJECTION,
          // Without a range: the most recent events first.
          ScanIndexForward: input.from !== undefined,
          Limit: input.limit,
          ConsistentRead: true,
        }),
      ),
    true,
  );
  return (out.Items ?? []).map(decodeRef);
}

/**
 * Reads what `decideAppend` needs, strongly consistently: the version, the last `window` events' ids, and for an
 * exact expected version E behind the stream, the events at E+1 .. E+n. Records the stream's end in `heads`.
 */
export async function readState(
  ctx: StoreContext,
  heads: StreamHeads,
  append: PreparedAppend,
  idempotencyWindow: number,
): Promise<StreamState> {
  const n = append.events.length;
  const exact = typeof append.expectedVersion === 'number';
  const window = exact ? 1 : Math.max(idempotencyWindow, n, 1);
  const recent = await queryRefs(ctx, append.streamId, { limit: window });
  const state: StreamState = { version: recent[0]?.version ?? 0, byVersion: new Map(), recentIds: new Map() };
  for (const r of recent) {
    state.byVersion.set(r.version, r);
    state.recentIds.set(r.id, r.version);
  }
  if (recent[0]) {
    heads.record(append.streamId, recent[0].version, recent[0].position, recent.map((r) => r.id).reverse());
  }
  const e = append.expectedVersion;
  if (typeof e === 'number' && e < state.version && n > 0) {
    const refs = await queryRefs(ctx, append.streamId, { from: e + 1, to: e + n, limit: n });
    for (const r of refs) state.byVersion.set(r.version, r);
  }
  return state;
}
