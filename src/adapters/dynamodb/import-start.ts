import type { PreparedAppend } from '../../contract/index.js';
import type { StoreContext } from './context.js';
import { EVENT_ATTR, type Item, streamKey } from './items.js';
import { backoffMs, sleep } from './retry.js';
import { commit, lostRaces, MAX_ROUNDS, putState, ROUND_BACKOFF } from './state-writes.js';
import { readView, STUB_KIND, type StreamMeta } from './stream-meta.js';

/** An erased event's stub at `version`, with no data; `position` only when a base check is to pass on it. */
function stub(streamId: string, version: number, position?: bigint): Item {
  const item: Item = {
    ...streamKey(streamId, version),
    k: { S: STUB_KIND.erased },
    [EVENT_ATTR.version]: { N: String(version) },
  };
  if (position !== undefined) item[EVENT_ATTR.position] = { N: position.toString() };
  return item;
}

/**
 * The first step of an import past version 1 (`firstVersion` k): a stream that never had an event becomes what a
 * stream truncated before k after k − 1 events is, with no event to erase. One transaction writes the state item
 * (version k − 1, truncated and erased below k) and two stubs: at k − 1, with position 0, so that the append's check
 * of its base event passes (0 lies before every position); and at version 1, without a position, so that an append
 * that still sees the stream empty fails on its put at version 1 (or its base check there) and reads the stream
 * again. The append at k − 1 follows as usual; a crash between the two leaves a stream at k − 1 without events,
 * which the import's retry appends to. Any other stream state is the append's to judge.
 */
export async function startImport(ctx: StoreContext, append: PreparedAppend): Promise<void> {
  const k = append.firstVersion;
  if (k === undefined || k <= 1) return;
  const { streamId } = append;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    if (round > 0) await sleep(backoffMs(round, ROUND_BACKOFF));
    const view = await readView(ctx, streamId, 0, 'append');
    if (view.version !== 0 || view.tombstoned) return;
    const { meta } = view;
    const next: StreamMeta = {
      ...meta,
      status: 0,
      version: k - 1,
      truncateBefore: k,
      eraseBelow: Math.max(meta.eraseBelow, k),
      erasedBelow: Math.max(meta.erasedBelow, k),
      revision: meta.revision + 1,
    };
    const put = (item: Item) => ({
      Put: { TableName: ctx.tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' },
    });
    const items = [putState(ctx, streamId, meta, next), put(stub(streamId, k - 1, 0n))];
    if (k > 2) items.push(put(stub(streamId, 1)));
    if (await commit(ctx, items, 'append', streamId)) return;
  }
  lostRaces(streamId);
}
