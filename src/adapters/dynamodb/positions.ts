import {
  PutItemCommand,
  QueryCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { StoreContext } from './context.js';
import {
  CLAIM_ATTR,
  type Claim,
  COUNTER_ATTR,
  COUNTER_KEY,
  decodeClaim,
  decodeCounter,
  fillerItem,
  LOG_PREFIX,
  MAX_CLAIM_POSITIONS,
  POS_PREFIX,
  pad,
} from './items.js';

/** Positions `first .. last`, both included, handed out to one append. */
export interface PositionRange {
  first: bigint;
  last: bigint;
}

interface Waiter {
  count: number;
  resolve: (range: PositionRange) => void;
  reject: (err: unknown) => void;
}

/**
 * Hands out contiguous position ranges from the table's counter with an atomic `ADD` (no condition, so writers
 * never conflict on it). Appends that ask while a request is in flight share the next one: under load a store
 * sends far fewer counter updates than appends.
 */
export class PositionAllocator {
  readonly #ctx: StoreContext;
  #waiting: Waiter[] = [];
  #running = false;
  /** Counter requests sent, for the benchmark. */
  requests = 0;

  constructor(ctx: StoreContext) {
    this.#ctx = ctx;
  }

  allocate(count: number): Promise<PositionRange> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ count, resolve, reject });
      if (!this.#running) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#running = true;
    try {
      while (this.#waiting.length > 0) {
        const batch = this.#waiting.splice(0, this.#waiting.length);
        const total = batch.reduce((sum, w) => sum + w.count, 0);
        try {
          const high = await this.#add(total);
          let next = high - BigInt(total) + 1n;
          for (const w of batch) {
            w.resolve({ first: next, last: next + BigInt(w.count) - 1n });
            next += BigInt(w.count);
          }
        } catch (err) {
          for (const w of batch) w.reject(err);
        }
      }
    } finally {
      this.#running = false;
    }
  }

  async #add(total: number): Promise<bigint> {
    const ctx = this.#ctx;
    this.requests++;
    // Not idempotent: retried only after errors that prove nothing was applied. A lost response burns its
    // positions; they become a hole that readers fill (see fillHole).
    const out = await ctx.call(
      { operation: 'append', request: 'UpdateItem (position counter)' },
      () =>
        ctx.client.send(
          new UpdateItemCommand({
            TableName: ctx.tableName,
            Key: COUNTER_KEY,
            UpdateExpression: 'ADD #highest :n',
            ExpressionAttributeNames: { '#highest': COUNTER_ATTR.highest },
            ExpressionAttributeValues: { ':n': { N: String(total) } },
            ReturnValues: 'UPDATED_NEW',
          }),
        ),
      false,
    );
    const high = decodeCounter(out.Attributes);
    ctx.sawCounter(high);
    return high;
  }
}

/**
 * Marks an append's own range as holding nothing, after its transaction failed, so that readers need not wait for
 * it. The condition keeps a committed claim (an earlier attempt whose answer was lost) intact: filling is then a
 * no-op. Best effort: a range left unfilled is filled by a reader after the hole timeout.
 */
export async function fillOwnRange(ctx: StoreContext, range: PositionRange): Promise<void> {
  const count = Number(range.last - range.first + 1n);
  try {
    await ctx.retrying(() =>
      ctx.client.send(
        new PutItemCommand({
          TableName: ctx.tableName,
          Item: fillerItem(range.first, count, ctx.bucketSize),
          ConditionExpression: 'attribute_not_exists(pk) OR #kind = :f',
          ExpressionAttributeNames: { '#kind': CLAIM_ATTR.kind },
          ExpressionAttributeValues: { ':f': { S: 'F' } },
        }),
      ),
    );
  } catch {
    // A condition failure means the claim is committed; anything else is left to the readers' hole timeout.
  }
}

async function nearestClaimAtOrBefore(
  ctx: StoreContext,
  bucket: bigint,
  position: bigint,
): Promise<Claim | undefined> {
  const out = await ctx.call({ operation: 'readAll', request: 'Query (claims)' }, () =>
    ctx.client.send(
      new QueryCommand({
        TableName: ctx.tableName,
        KeyConditionExpression: 'pk = :b AND sk <= :p',
        ExpressionAttributeValues: {
          ':b': { S: LOG_PREFIX + bucket.toString() },
          ':p': { S: POS_PREFIX + pad(position) },
        },
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      }),
    ),
  );
  const item = out.Items?.[0];
  return item ? decodeClaim(item) : undefined;
}

/**
 * The committed claim or filler that covers `position`, read strongly consistently, or undefined when the position
 * was handed out but nothing is committed there (yet).
 */
export async function findCoveringClaim(ctx: StoreContext, position: bigint): Promise<Claim | undefined> {
  const bucket = position / ctx.bucketSize;
  let claim = await nearestClaimAtOrBefore(ctx, bucket, position);
  // A claim starts in the bucket of its first position and covers at most MAX_CLAIM_POSITIONS positions, so it
  // reaches at most MAX_CLAIM_POSITIONS - 2 positions into the next bucket.
  if (!claim && bucket > 0n && position - bucket * ctx.bucketSize < BigInt(MAX_CLAIM_POSITIONS - 1)) {
    claim = await nearestClaimAtOrBefore(ctx, bucket - 1n, position);
  }
  if (claim && claim.first + BigInt(claim.count) - 1n >= position) return claim;
  return undefined;
}

/**
 * Fills the hole `from .. to` with one filler per position, each only where no claim exists, in transactions of at
 * most 100 positions (and within one log bucket). A writer that still holds one of these positions then fails its
 * transaction on that claim and retries with new positions, so nothing can become visible in the hole after a
 * reader passed it. Positions are filled one by one because the reader does not know where the in-flight ranges
 * start. Returns the last position filled: `to`, or the position before a claim found inside the hole.
 */
export async function fillHole(ctx: StoreContext, from: bigint, to: bigint): Promise<bigint> {
  let start = from;
  while (start <= to) {
    const bucketEnd = (start / ctx.bucketSize + 1n) * ctx.bucketSize - 1n;
    let last = to;
    if (last > bucketEnd) last = bucketEnd;
    if (last > start + 99n) last = start + 99n;
    const filled = await fillChunk(ctx, start, last);
    if (filled < last) return filled;
    start = last + 1n;
  }
  return to;
}

/** Fills `from .. last` in one transaction, or up to the first claim inside; returns the last position filled. */
async function fillChunk(ctx: StoreContext, from: bigint, last: bigint): Promise<bigint> {
  let end = last;
  while (end >= from) {
    const keys: bigint[] = [];
    for (let p = from; p <= end; p++) keys.push(p);
    try {
      await ctx.retrying(() =>
        ctx.client.send(
          new TransactWriteItemsCommand({
            TransactItems: keys.map((p) => ({
              Put: {
                TableName: ctx.tableName,
                Item: fillerItem(p, 1, ctx.bucketSize),
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            })),
          }),
        ),
      );
      return end;
    } catch (err) {
      if (!(err instanceof TransactionCanceledException)) throw err;
      // A claim appeared inside the range: fill only up to it.
      const reasons = err.CancellationReasons ?? [];
      const firstTaken = reasons.findIndex((r) => r.Code === 'ConditionalCheckFailed');
      if (firstTaken < 0) throw err;
      end = from + BigInt(firstTaken) - 1n;
    }
  }
  return end;
}
