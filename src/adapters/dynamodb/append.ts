import { randomUUID } from 'node:crypto';
import {
  QueryCommand,
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
  type StreamIdLookup,
  WrongExpectedVersionError,
} from '../../contract/index.js';
import type { StoreContext } from './context.js';
import {
  appendClaimItem,
  type EventRef,
  eventItem,
  type Item,
  pad,
  parseRef,
  STREAM_PREFIX,
  streamKey,
  VERSION_PREFIX,
} from './items.js';
import { mapError } from './map-error.js';
import { fillOwnRange, type PositionAllocator, type PositionRange } from './positions.js';
import { backoffMs, sleep } from './retry.js';

/** What the append knows of a stream: its version and some of its events (id and position by version). */
interface StreamState {
  version: number;
  byVersion: Map<number, EventRef>;
  /** Ids of the most recent events read (the idempotency window), to their versions. */
  recentIds: Map<string, number>;
}

export interface AppendDeps {
  ctx: StoreContext;
  allocator: PositionAllocator;
  /** The most recent events per stream an 'any'/'stream_exists' retry is recognised among (at least the batch). */
  idempotencyWindow: number;
}

/** Rounds of "the stream moved on, try again" before an append gives up (only 'any' and 'stream_exists' loop). */
const MAX_ROUNDS = 500;
const ROUND_BACKOFF = { maxAttempts: MAX_ROUNDS, baseDelayMs: 2, maxDelayMs: 64 };

function lookup(state: StreamState): StreamIdLookup {
  return {
    currentVersion: state.version,
    idAt: (v) => state.byVersion.get(v)?.id,
    versionOf: (id) => state.recentIds.get(id),
  };
}

async function queryRefs(
  deps: AppendDeps,
  streamId: string,
  input: { from?: number; to?: number; backwards: boolean; limit: number },
): Promise<EventRef[]> {
  const { ctx } = deps;
  const values: Item = { ':pk': { S: STREAM_PREFIX + streamId } };
  let range = 'begins_with(sk, :v)';
  values[':v'] = { S: VERSION_PREFIX };
  if (input.from !== undefined && input.to !== undefined) {
    range = 'sk BETWEEN :from AND :to';
    delete values[':v'];
    values[':from'] = { S: VERSION_PREFIX + pad(input.from) };
    values[':to'] = { S: VERSION_PREFIX + pad(input.to) };
  }
  const out = await ctx.call(
    'Query (stream)',
    () =>
      ctx.client.send(
        new QueryCommand({
          TableName: ctx.tableName,
          KeyConditionExpression: `pk = :pk AND ${range}`,
          ExpressionAttributeValues: values,
          ProjectionExpression: 'id, v, p',
          ScanIndexForward: !input.backwards,
          Limit: input.limit,
          ConsistentRead: true,
        }),
      ),
    true,
    streamId,
  );
  return (out.Items ?? []).map(parseRef);
}

/**
 * Reads what `decideAppend` needs: the version, the last `window` events' ids, and for an exact expected version
 * E behind the stream, the events at E+1 .. E+n.
 */
async function readState(deps: AppendDeps, append: PreparedAppend): Promise<StreamState> {
  const n = append.events.length;
  const window = typeof append.expectedVersion === 'number' ? 1 : Math.max(deps.idempotencyWindow, n, 1);
  const recent = await queryRefs(deps, append.streamId, { backwards: true, limit: window });
  const state: StreamState = {
    version: recent[0]?.version ?? 0,
    byVersion: new Map(),
    recentIds: new Map(),
  };
  for (const r of recent) {
    state.byVersion.set(r.version, r);
    state.recentIds.set(r.id, r.version);
  }
  const e = append.expectedVersion;
  if (typeof e === 'number' && e < state.version && n > 0) {
    const refs = await queryRefs(deps, append.streamId, {
      from: e + 1,
      to: e + n,
      backwards: false,
      limit: n,
    });
    for (const r of refs) state.byVersion.set(r.version, r);
  }
  return state;
}

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
  if (base > 0) {
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
    const checkAt = base > 0 ? 0 : -1;
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
  const n = append.events.length;
  let state: StreamState | undefined;
  let base: number;
  if (typeof append.expectedVersion === 'number' && n > 0) {
    base = append.expectedVersion;
  } else {
    state = await readState(deps, append);
    const early = settle(append, state);
    if (early) return early;
    base = state.version;
  }
  let range: PositionRange | undefined;
  try {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const lastPosition = state?.byVersion.get(base)?.position;
      if (range && lastPosition !== undefined && lastPosition >= range.first) {
        await fillOwnRange(deps.ctx, range);
        range = undefined;
      }
      range ??= await deps.allocator.allocate(n);
      const result = await attempt(deps, append, base, range);
      switch (result.kind) {
        case 'committed':
          return { nextExpectedVersion: base + n, lastPosition: range.last };
        case 'range-taken':
          // A reader gave up on this range and filled its first position; cover the rest of it too.
          await fillOwnRange(deps.ctx, range);
          range = undefined;
          continue;
        case 'reorder':
          await fillOwnRange(deps.ctx, range);
          range = undefined;
          continue;
        case 'duplicate-of-one':
          await fillOwnRange(deps.ctx, range);
          return { nextExpectedVersion: result.ref.version, lastPosition: result.ref.position };
        case 'moved':
          break;
      }
      state = await readState(deps, append);
      const settled = settle(append, state);
      if (settled) {
        await fillOwnRange(deps.ctx, range);
        return settled;
      }
      base = state.version;
      await sleep(backoffMs(round, ROUND_BACKOFF));
    }
  } catch (err) {
    // Best effort; the filler's condition keeps a committed claim, so this is safe even if the outcome is unknown.
    if (range) await fillOwnRange(deps.ctx, range);
    throw err;
  }
  if (range) await fillOwnRange(deps.ctx, range);
  throw new EventStoreError(
    ErrorCodes.UNAVAILABLE,
    `Stream '${append.streamId}': the append lost ${MAX_ROUNDS} races in a row to concurrent appends; nothing was written`,
    { streamId: append.streamId },
  );
}

/** The result when the decision is not "write": a recognised retry, an empty batch, or a conflict (thrown). */
function settle(append: PreparedAppend, state: StreamState): AppendResult | undefined {
  const decision = decideAppend(append, lookup(state));
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
