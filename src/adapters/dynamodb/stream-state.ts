import { QueryCommand } from '@aws-sdk/client-dynamodb';
import type { PreparedAppend, StreamIdLookup } from '../../contract/index.js';
import type { StoreContext } from './context.js';
import { decodeRef, type EventRef, isEvent, REF_PROJECTION, versionRange } from './items.js';
import type { StreamHead, StreamHeads } from './stream-heads.js';
import { readView } from './stream-meta.js';

/** What an append read of a stream: its version, lifecycle state and some of its visible events. */
export interface StreamState {
  version: number;
  softDeleted: boolean;
  tombstoned: boolean;
  byVersion: Map<number, EventRef>;
  /** Ids of the most recent events read (the idempotency window), to their versions. */
  recentIds: Map<string, number>;
}

export function lookupState(state: StreamState): StreamIdLookup {
  return {
    currentVersion: state.version,
    idAt: (v) => state.byVersion.get(v)?.id,
    versionOf: (id) => state.recentIds.get(id),
    softDeleted: state.softDeleted,
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

/** The events at versions `from .. to` (erased ones and those below `hiddenBelow` left out). */
async function queryRange(
  ctx: StoreContext,
  streamId: string,
  from: number,
  to: number,
  hiddenBelow: number,
): Promise<EventRef[]> {
  if (Math.max(from, hiddenBelow) > to) return [];
  const out = await ctx.call(
    { operation: 'append', request: 'Query (stream)', streamId },
    () =>
      ctx.client.send(
        new QueryCommand({
          TableName: ctx.tableName,
          ...versionRange(streamId, Math.max(from, hiddenBelow), to),
          ProjectionExpression: REF_PROJECTION,
          Limit: to - from + 1,
          ConsistentRead: true,
        }),
      ),
    true,
  );
  return (out.Items ?? []).filter(isEvent).map(decodeRef);
}

/**
 * Reads what `decideAppend` needs, strongly consistently: the version, the lifecycle state, the last `window`
 * events' ids, and for an exact expected version E behind the stream, the events at E+1 .. E+n. Events a delete,
 * truncation or erased retention removed are not among them: idempotency forgets them. Records the stream's end in
 * `heads` when it is a live event.
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
  const epoch = heads.epoch;
  const view = await readView(ctx, append.streamId, window, 'append');
  const recent = view.events;
  const state: StreamState = {
    version: view.version,
    softDeleted: view.softDeleted,
    tombstoned: view.tombstoned,
    byVersion: new Map(),
    recentIds: new Map(),
  };
  for (const r of recent) {
    state.byVersion.set(r.version, r);
    state.recentIds.set(r.id, r.version);
  }
  if (recent[0] && recent[0].version === view.version && !view.tombstoned) {
    heads.record(
      append.streamId,
      recent[0].version,
      recent[0].position,
      recent.map((r) => r.id).reverse(),
      epoch,
    );
  }
  const e = append.expectedVersion;
  if (typeof e === 'number' && e < state.version && n > 0 && !view.tombstoned) {
    const refs = await queryRange(ctx, append.streamId, e + 1, e + n, view.meta.eraseBelow);
    for (const r of refs) state.byVersion.set(r.version, r);
  }
  return state;
}
