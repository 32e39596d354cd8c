import {
  type AppendResult,
  decideAppend,
  ErrorCodes,
  EventStoreError,
  type PreparedAppend,
  StreamDeletedError,
  WrongExpectedVersionError,
} from '../../contract/index.js';
import type { DynamoDBCommitter } from './committer.js';
import type { StoreContext } from './context.js';
import { backoffMs, sleep } from './retry.js';
import type { StreamHeads } from './stream-heads.js';
import { lookupHead, lookupState, readState, type StreamState } from './stream-state.js';

export interface AppendDeps {
  ctx: StoreContext;
  committer: DynamoDBCommitter;
  heads: StreamHeads;
  /** The most recent events per stream an 'any'/'stream_exists' retry is recognised among (at least the batch). */
  idempotencyWindow: number;
}

/** Rounds of "the stream moved on, try again" before an append gives up (only 'any' and 'stream_exists' loop). */
const MAX_ROUNDS = 500;
const ROUND_BACKOFF = { maxAttempts: MAX_ROUNDS, baseDelayMs: 2, maxDelayMs: 64 };

/**
 * Appends per the contract. The events go in one TransactWriteItems (see DynamoDBCommitter), each put under
 * `attribute_not_exists`, with a check of the base event unless this store has seen it before the positions. When a condition cancels
 * the commit, the stream is read and `decideAppend` says whether this was a retry (return the stored result), a
 * conflict (WRONG_EXPECTED_VERSION) or a race to try again at the new version.
 */
export async function appendEvents(deps: AppendDeps, append: PreparedAppend): Promise<AppendResult> {
  const { ctx, heads, idempotencyWindow } = deps;
  const n = append.events.length;
  let state: StreamState | undefined;
  let base: number | undefined;
  if (typeof append.expectedVersion === 'number' && n > 0) {
    base = append.expectedVersion;
  } else if (n > 0) {
    // 'any'/'stream_exists' on a stream whose end this store knows: decide without reading. Only "write" is taken
    // from memory; the transaction proves the stream is still there.
    const head = heads.get(append.streamId);
    if (head && heads.coversWindow(head) && decideAppend(append, lookupHead(head)).kind === 'write') {
      base = head.version;
    }
  }
  if (base === undefined) {
    state = await readState(ctx, heads, append, idempotencyWindow);
    const early = settle(append, state);
    if (early) return early;
    base = state.version;
  }
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const outcome = await deps.committer.commit(append, base);
    switch (outcome.kind) {
      case 'committed':
        heads.record(
          append.streamId,
          base + n,
          outcome.range.last,
          append.events.map((e) => e.id),
          outcome.epoch,
        );
        return { nextExpectedVersion: base + n, lastPosition: outcome.range.last };
      case 'duplicate-of-one':
        return { nextExpectedVersion: outcome.ref.version, lastPosition: outcome.ref.position };
      case 'reorder':
        continue;
      case 'moved':
        break;
    }
    state = await readState(ctx, heads, append, idempotencyWindow);
    const settled = settle(append, state);
    if (settled) return settled;
    base = state.version;
    await sleep(backoffMs(round, ROUND_BACKOFF));
  }
  throw new EventStoreError(
    ErrorCodes.UNAVAILABLE,
    `Stream '${append.streamId}': the append lost ${MAX_ROUNDS} races in a row to concurrent appends; nothing was written`,
    { streamId: append.streamId },
  );
}

/** The result when the decision is not "write": a recognised retry, an empty batch, or a conflict (thrown). */
function settle(append: PreparedAppend, state: StreamState): AppendResult | undefined {
  if (state.tombstoned) throw new StreamDeletedError(append.streamId);
  const decision = decideAppend(append, lookupState(state));
  switch (decision.kind) {
    case 'write':
      return undefined;
    case 'empty':
      return { nextExpectedVersion: state.version, lastPosition: null };
    case 'duplicate':
      return {
        nextExpectedVersion: decision.lastVersion,
        lastPosition: state.byVersion.get(decision.lastVersion)!.position,
      };
    case 'conflict':
      throw new WrongExpectedVersionError(append.streamId, append.requestedExpectedVersion, state.version, {
        reason: decision.reason,
      });
  }
}
