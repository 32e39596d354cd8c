import { randomUUID } from 'node:crypto';
import {
  type TransactionCanceledException,
  type TransactWriteItem,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import {
  type AppendResult,
  decideAppend,
  ErrorCodes,
  EventStoreError,
  type PreparedAppend,
  WrongExpectedVersionError,
} from '../../contract/index.js';
import type { StoreContext } from './context.js';
import { appendClaimItem, type EventRef, eventItem, parseRef, streamKey } from './items.js';
import { mapError } from './map-error.js';
import { fillOwnRange, type PositionAllocator, type PositionRange } from './positions.js';
import { backoffMs, sleep } from './retry.js';
import type { StreamHeads } from './stream-heads.js';
import { lookupHead, lookupState, readState, type StreamState } from './stream-state.js';

export interface AppendDeps {
  ctx: StoreContext;
  allocator: PositionAllocator;
  heads: StreamHeads;
  /** The most recent events per stream an 'any'/'stream_exists' retry is recognised among (at least the batch). */
  idempotencyWindow: number;
}

/** Rounds of "the stream moved on, try again" before an append gives up (only 'any' and 'stream_exists' loop). */
const MAX_ROUNDS = 500;
const ROUND_BACKOFF = { maxAttempts: MAX_ROUNDS, baseDelayMs: 2, maxDelayMs: 64 };

function buildTransaction(
  deps: AppendDeps,
  append: PreparedAppend,
  base: number,
  range: PositionRange,
): TransactWriteItem[] {
  const { ctx } = deps;
  const { streamId, events } = append;
  const now = Date.now();
  const items: TransactWriteItem[] = [];
  if (needsBaseCheck(deps, append.streamId, base)) {
    // The stream is at `base` (the put below proves there is nothing after it) and its last event lies before this
    // range, so position order stays version order.
    items.push({
      ConditionCheck: {
        TableName: ctx.tableName,
        Key: streamKey(streamId, base),
        ConditionExpression: 'attribute_exists(pk) AND p < :first',
        ExpressionAttributeValues: { ':first': { N: range.first.toString() } },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    });
  }
  events.forEach((e, i) => {
    items.push({
      Put: {
        TableName: ctx.tableName,
        Item: eventItem(streamId, base + 1 + i, range.first + BigInt(i), now, e, ctx.bucketSize),
        ConditionExpression: 'attribute_not_exists(pk)',
        ReturnValuesOnConditionCheckFailure: i === 0 ? 'ALL_OLD' : 'NONE',
      },
    });
  });
  items.push({
    Put: {
      TableName: ctx.tableName,
      Item: appendClaimItem(
        streamId,
        base + 1,
        range.first,
        events.length,
        events[0]!.id,
        now,
        ctx.bucketSize,
      ),
      ConditionExpression: 'attribute_not_exists(pk)',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    },
  });
  return items;
}

/** The base event's existence and position need checking unless this store has already seen it (or later). */
function needsBaseCheck(deps: AppendDeps, streamId: string, base: number): boolean {
  return base > 0 && (deps.heads.get(streamId)?.version ?? 0) < base;
}

type Attempt =
  | { kind: 'committed' }
  | { kind: 'range-taken' }
  | { kind: 'duplicate-of-one'; ref: EventRef }
  | { kind: 'reorder' }
  | { kind: 'moved' };

/** Sends one transaction (retrying transient failures with the same token) and classifies a cancellation. */
async function attempt(
  deps: AppendDeps,
  append: PreparedAppend,
  base: number,
  range: PositionRange,
): Promise<Attempt> {
  const { ctx } = deps;
  const checked = needsBaseCheck(deps, append.streamId, base);
  const items = buildTransaction(deps, append, base, range);
  const token = randomUUID();
  try {
    await ctx.retrying(() =>
      ctx.client.send(new TransactWriteItemsCommand({ TransactItems: items, ClientRequestToken: token })),
    );
    return { kind: 'committed' };
  } catch (err) {
    if ((err as { name?: string }).name !== 'TransactionCanceledException') {
      throw mapError(err, 'TransactWriteItems', append.streamId);
    }
    const reasons = (err as TransactionCanceledException).CancellationReasons ?? [];
    const failed = (i: number) => reasons[i]?.Code === 'ConditionalCheckFailed';
    if (!reasons.some((r) => r.Code === 'ConditionalCheckFailed')) {
      throw mapError(err, 'TransactWriteItems', append.streamId);
    }
    const checkAt = checked ? 0 : -1;
    const firstPutAt = checkAt + 1;
    const claimAt = items.length - 1;
    if (failed(claimAt)) {
      const old = reasons[claimAt]!.Item;
      // An earlier try of this very transaction committed and its answer was lost.
      if (old?.k?.S === 'E' && old.s?.S === append.streamId && old.id?.S === append.events[0]!.id) {
        return { kind: 'committed' };
      }
      if (!failed(checkAt) && !failed(firstPutAt)) return { kind: 'range-taken' };
    }
    if (failed(firstPutAt)) {
      const old = reasons[firstPutAt]!.Item;
      if (append.events.length === 1 && old?.id?.S === append.events[0]!.id) {
        return { kind: 'duplicate-of-one', ref: parseRef(old) };
      }
      return { kind: 'moved' };
    }
    if (failed(checkAt)) {
      const old = reasons[checkAt]!.Item;
      // The stream is at `base`, but its last event took a later position than this range.
      if (old?.p?.N !== undefined && BigInt(old.p.N) >= range.first) return { kind: 'reorder' };
    }
    return { kind: 'moved' };
  }
}

/**
 * Appends per the contract: one TransactWriteItems holding the events (each `attribute_not_exists`), a condition
 * check on the event at the base version, and the claim on the append's position range. When it is cancelled by
 * a condition, the stream is read and `decideAppend` says whether this was a retry (return the stored result), a
 * conflict (WRONG_EXPECTED_VERSION) or a race to try again at the new version. A range that is not used is filled,
 * so readers never wait for it.
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
  let range: PositionRange | undefined;
  try {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const head = heads.get(append.streamId);
      const lastPosition = head?.version === base ? head.position : state?.byVersion.get(base)?.position;
      if (range && lastPosition !== undefined && lastPosition >= range.first) {
        await fillOwnRange(ctx, range);
        range = undefined;
      }
      range ??= await deps.allocator.allocate(n);
      const result = await attempt(deps, append, base, range);
      switch (result.kind) {
        case 'committed':
          heads.record(
            append.streamId,
            base + n,
            range.last,
            append.events.map((e) => e.id),
          );
          return { nextExpectedVersion: base + n, lastPosition: range.last };
        case 'range-taken':
          // A reader gave up on this range and filled its first position; cover the rest of it too.
          await fillOwnRange(ctx, range);
          range = undefined;
          continue;
        case 'reorder':
          await fillOwnRange(ctx, range);
          range = undefined;
          continue;
        case 'duplicate-of-one':
          await fillOwnRange(ctx, range);
          return { nextExpectedVersion: result.ref.version, lastPosition: result.ref.position };
        case 'moved':
          break;
      }
      state = await readState(ctx, heads, append, idempotencyWindow);
      const settled = settle(append, state);
      if (settled) {
        await fillOwnRange(ctx, range);
        return settled;
      }
      base = state.version;
      await sleep(backoffMs(round, ROUND_BACKOFF));
    }
  } catch (err) {
    // Best effort; the filler's condition keeps a committed claim, so this is safe even if the outcome is unknown.
    if (range) await fillOwnRange(ctx, range);
    throw err;
  }
  if (range) await fillOwnRange(ctx, range);
  throw new EventStoreError(
    ErrorCodes.UNAVAILABLE,
    `Stream '${append.streamId}': the append lost ${MAX_ROUNDS} races in a row to concurrent appends; nothing was written`,
    { streamId: append.streamId },
  );
}

/** The result when the decision is not "write": a recognised retry, an empty batch, or a conflict (thrown). */
function settle(append: PreparedAppend, state: StreamState): AppendResult | undefined {
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
