import { GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import type { StoreContext } from './context.js';
import {
  COUNTER_KEY,
  decodeCounter,
  decodeCreatedAt,
  decodeNextPosition,
  decodePosition,
  EVENT_ATTR,
  type Item,
  LOG_INDEX,
  LOG_PREFIX,
} from './items.js';
import { fillHole, findCoveringClaim } from './positions.js';
import { sleep } from './retry.js';

export interface LogReadOptions {
  /** Exclusive. */
  after: bigint;
  /** Items per index query. */
  pageSize: number;
  /** How long a hole may stay open before a reader fills it. */
  holeTimeoutMs: number;
  /** How long one readAll call waits for a hole to close before it ends early. */
  holeWaitMs: number;
  /** Where the store remembers when it first saw each open hole. */
  holes: Map<bigint, number>;
}

type HoleOutcome = { next: bigint } | 'wait' | 'stop';

/**
 * Yields event items in position order with no position skipped: after position p it yields p + 1 or, once p + 1
 * is known to hold nothing (a filler covers it, or it is among the positions a commit took and did not need), the
 * next position that does. Positions come from one counter, so
 * every position up to the counter belongs to exactly one append; a position missing from the `log` index is
 * either an event not indexed yet (its claim exists: wait), a failed append (a filler covers it: skip), or an
 * append in flight or crashed (no claim: wait, and after `holeTimeoutMs` fill it). The walk never goes past a
 * position it could not account for, so nothing can later appear behind it. It ends at the end of the log, or
 * early when a hole stays open for `holeWaitMs`.
 */
export async function* readLog(ctx: StoreContext, options: LogReadOptions): AsyncGenerator<Item> {
  let expected = options.after + 1n;
  // Near the end of the log (as far as this store knows), the walk will need the counter once the first query comes
  // back short: read it beside that query rather than after it. Any counter value read after the call began bounds
  // every append that resolved before it, which is all nextVisible needs.
  let counter =
    ctx.counterSeen - options.after < BigInt(options.pageSize) ? quiet(readCounter(ctx)) : undefined;
  const waitUntil = Date.now() + options.holeWaitMs;
  let pause = 2;
  const wait = async (): Promise<boolean> => {
    if (Date.now() >= waitUntil) return false;
    await sleep(pause);
    pause = Math.min(pause * 2, 50);
    return true;
  };

  for (;;) {
    const bucket = expected / ctx.bucketSize;
    const page = await queryBucket(ctx, bucket, expected, options.pageSize);
    let retry = false;
    for (const item of page.items) {
      const position = decodePosition(item);
      while (position > expected) {
        const outcome = await resolveHole(ctx, expected, { position, writtenAt: writtenAt(item) }, options);
        if (outcome === 'stop') return;
        if (outcome === 'wait') {
          if (!(await wait())) return;
          retry = true;
          break;
        }
        expected = outcome.next;
      }
      if (retry) break;
      if (position < expected) continue;
      yield item;
      // The last event of a commit that did not need all its positions says where the next one may be.
      expected = decodeNextPosition(item);
    }
    if (retry || page.more) continue;
    const bucketEnd = (bucket + 1n) * ctx.bucketSize;
    if (expected >= bucketEnd) continue;
    // Nothing more is visible in this bucket. Either the log ends here, or the next visible event is further on.
    const high = await (counter ?? readCounter(ctx));
    counter = undefined;
    const next = await nextVisible(ctx, bucket + 1n, expected, high);
    if (next === undefined) return;
    const outcome = await resolveHole(
      ctx,
      expected,
      { position: decodePosition(next), writtenAt: writtenAt(next) },
      options,
    );
    if (outcome === 'stop') return;
    if (outcome === 'wait') {
      if (!(await wait())) return;
      continue;
    }
    expected = outcome.next;
  }
}

async function queryBucket(
  ctx: StoreContext,
  bucket: bigint,
  from: bigint,
  limit: number,
): Promise<{ items: Item[]; more: boolean }> {
  const out = await ctx.call({ operation: 'readAll', request: 'Query (log index)' }, () =>
    ctx.client.send(
      new QueryCommand({
        TableName: ctx.tableName,
        IndexName: LOG_INDEX,
        KeyConditionExpression: '#bucket = :b AND #position >= :p',
        ExpressionAttributeNames: { '#bucket': EVENT_ATTR.logBucket, '#position': EVENT_ATTR.position },
        ExpressionAttributeValues: {
          ':b': { S: LOG_PREFIX + bucket.toString() },
          ':p': { N: from.toString() },
        },
        Limit: limit,
      }),
    ),
  );
  return { items: out.Items ?? [], more: out.LastEvaluatedKey !== undefined };
}

/** The position counter: the highest position handed out (eventually consistent, like the index). */
async function readCounter(ctx: StoreContext): Promise<bigint> {
  const out = await ctx.call({ operation: 'readAll', request: 'GetItem (position counter)' }, () =>
    ctx.client.send(new GetItemCommand({ TableName: ctx.tableName, Key: COUNTER_KEY })),
  );
  const high = decodeCounter(out.Item);
  ctx.sawCounter(high);
  return high;
}

/** A promise whose rejection, if nobody awaits it, is not reported as unhandled. */
function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

/** The first visible event after `expected` in a later bucket, looking no further than the counter `high`. */
async function nextVisible(
  ctx: StoreContext,
  fromBucket: bigint,
  expected: bigint,
  high: bigint,
): Promise<Item | undefined> {
  if (expected > high) return undefined;
  for (let bucket = fromBucket; bucket <= high / ctx.bucketSize; bucket++) {
    const page = await queryBucket(ctx, bucket, bucket * ctx.bucketSize, 1);
    const first = page.items[0];
    if (first) return first;
  }
  return undefined;
}

/** The first event the index shows after a hole: its position, and when its writer wrote it (by its clock). */
interface AfterHole {
  position: bigint;
  writtenAt: number;
}

function writtenAt(item: Item): number {
  return decodeCreatedAt(item);
}

/**
 * Accounts for the positions from `expected` on, up to the next visible event: a filler (skip it), a commit's
 * claim (skip the positions it did not use, or wait for the index), or no claim at all: positions handed out and
 * not committed, by a commit in flight or a writer that crashed.
 *
 * Such a hole is filled once it is `holeTimeoutMs` old, counted from when its positions were handed out, not from
 * when a reader reached it. The hole's positions came from the counter before those of the next visible event, and
 * that event's writer took them before it stamped the event's `ts`; so the hole is at least `now - ts` old (by the
 * writers' clocks; a skewed clock only moves the fill earlier or later, never makes it wrong). A reader meeting a
 * hole therefore waits at most `holeTimeoutMs` after the crash, whatever the hole's size and however many holes one
 * crash left, plus the time its caller takes to call again after a `holeWaitMs` stop. The fill covers the whole
 * hole, in transactions of 100 positions, and the walk then goes on after it without asking for claims again.
 */
async function resolveHole(
  ctx: StoreContext,
  expected: bigint,
  after: AfterHole,
  options: LogReadOptions,
): Promise<HoleOutcome> {
  const claim = await findCoveringClaim(ctx, expected);
  if (claim?.kind === 'F') {
    options.holes.delete(expected);
    return { next: claim.first + BigInt(claim.count) };
  }
  if (claim?.kind === 'E') {
    // Positions a commit took but did not need: skip them.
    if (expected >= claim.first + BigInt(claim.used)) return { next: claim.first + BigInt(claim.count) };
    // Committed, but the index has not caught up yet.
    return 'wait';
  }
  const now = Date.now();
  let seen = options.holes.get(expected);
  if (seen === undefined) {
    if (options.holes.size > 10_000) options.holes.clear();
    seen = now;
    options.holes.set(expected, seen);
  }
  if (now - Math.min(seen, after.writtenAt) < options.holeTimeoutMs) return 'wait';
  const filledTo = await fillHole(ctx, expected, after.position - 1n);
  options.holes.delete(expected);
  // Every position from `expected` to `filledTo` now holds a filler.
  if (filledTo >= expected) return { next: filledTo + 1n };
  // A commit claimed `expected` just before the fill: look at its claim.
  return resolveHole(ctx, expected, after, options);
}
