import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { JsonObject, JsonValue, PreparedEvent, RecordedEvent } from '../../contract/index.js';

/**
 * The table's item layout. One table holds three kinds of item:
 *
 * - an event: `pk = STREAM#<streamId>`, `sk = VERSION#<version, 20 digits>`, with `id`, `t` (type), `d` (data JSON),
 *   `m` (metadata JSON), `v` (version), `p` (position), `ts` (ms since epoch) and `lb` (`LOG#<bucket>`), the
 *   partition key of the `log` index (sort key `p`); the last event of a commit that used only part of its
 *   positions also carries `x`, the first position after them (`p + 1 .. x - 1` hold no event);
 * - a claim: `pk = LOG#<bucket>`, `sk = POS#<first position, 20 digits>`, one per commit (`k = E`, written in the
 *   transaction that writes the events of one or more appends, `g` naming that commit) or per filled hole (`k = F`),
 *   covering positions `first .. first + n - 1`; a commit's events take the first `u` of them (`u` absent: all);
 * - the position counter: `pk = COUNTER`, `sk = POSITION`, attribute `h` (the highest position handed out).
 *
 * See docs/dynamodb.md for why.
 */
export type Item = Record<string, AttributeValue>;

export const STREAM_PREFIX = 'STREAM#';
export const VERSION_PREFIX = 'VERSION#';
export const LOG_PREFIX = 'LOG#';
export const POS_PREFIX = 'POS#';
export const LOG_INDEX = 'log';
export const COUNTER_KEY: Item = { pk: { S: 'COUNTER' }, sk: { S: 'POSITION' } };

/** Positions per log bucket (the partition key of the `log` index and of claims). Fixed for a table's life. */
export const DEFAULT_LOG_BUCKET_SIZE = 1_000_000n;

/** DynamoDB's item limit, 400 KB, counting attribute names and values. */
const ITEM_LIMIT = 400 * 1024;
/**
 * An upper bound on what an event item holds beside type, data and metadata: attribute names, `pk` with a stream id
 * of 255 UTF-16 units (at most 765 bytes of UTF-8), `sk`, `id`, the numbers and `lb` come to under 1 KB; 2 KB
 * leaves room.
 */
const ITEM_OVERHEAD = 2 * 1024;

/** TransactWriteItems takes at most 100 actions; an append spends one on its claim and one on the version check. */
export const MAX_EVENTS_PER_APPEND = 98;
/** The most positions one claim covers: a commit's 99 events (100 actions less the claim), or a block taken ahead. */
export const MAX_CLAIM_POSITIONS = 99;
/** Any event of this many bytes (type + data JSON + metadata JSON, UTF-8) fits in one item. */
export const MAX_EVENT_BYTES = ITEM_LIMIT - ITEM_OVERHEAD;
/**
 * TransactWriteItems carries at most 4 MB of items. Keep room for 98 items' overhead, the claim and the checked
 * item (up to 400 KB).
 */
export const MAX_APPEND_BYTES = 3 * 1024 * 1024 + 256 * 1024;

export function pad(n: number | bigint): string {
  return n.toString().padStart(20, '0');
}

export function streamKey(streamId: string, version: number): Item {
  return { pk: { S: STREAM_PREFIX + streamId }, sk: { S: VERSION_PREFIX + pad(version) } };
}

export function bucketOf(position: bigint, bucketSize: bigint): bigint {
  return position / bucketSize;
}

export function claimKey(position: bigint, bucketSize: bigint): Item {
  return {
    pk: { S: LOG_PREFIX + bucketOf(position, bucketSize).toString() },
    sk: { S: POS_PREFIX + pad(position) },
  };
}

/**
 * An event item. `skipTo` is set on the last event of a commit whose range has positions left over: readers
 * then step straight to it instead of asking the claim what the gap is.
 */
export function eventItem(
  streamId: string,
  version: number,
  position: bigint,
  createdAt: number,
  e: PreparedEvent,
  bucketSize: bigint,
  skipTo?: bigint,
): Item {
  const item: Item = {
    ...streamKey(streamId, version),
    id: { S: e.id },
    t: { S: e.type },
    d: { S: e.dataJson },
    m: { S: e.metadataJson },
    v: { N: String(version) },
    p: { N: position.toString() },
    ts: { N: String(createdAt) },
    lb: { S: LOG_PREFIX + bucketOf(position, bucketSize).toString() },
  };
  if (skipTo !== undefined) item.x = { N: skipTo.toString() };
  return item;
}

/**
 * The claim a commit writes at its first position, in the same transaction as its events: it covers `count`
 * positions, of which the first `used` hold the commit's events (a commit with positions taken in advance may not
 * need them all). `s`, `v` and `id` name the commit's first event, for diagnosis; `g` identifies the commit, so
 * that a retry whose answer was lost can recognise its own claim.
 */
export function appendClaimItem(
  streamId: string,
  firstVersion: number,
  first: bigint,
  count: number,
  firstEventId: string,
  createdAt: number,
  bucketSize: bigint,
  commitId = '',
  used = count,
): Item {
  return {
    ...claimKey(first, bucketSize),
    k: { S: 'E' },
    n: { N: String(count) },
    ...(used === count ? {} : { u: { N: String(used) } }),
    s: { S: streamId },
    v: { N: String(firstVersion) },
    id: { S: firstEventId },
    ts: { N: String(createdAt) },
    ...(commitId === '' ? {} : { g: { S: commitId } }),
  };
}

/** A filler: positions `first .. first + count - 1` hold no event and never will. */
export function fillerItem(first: bigint, count: number, bucketSize: bigint): Item {
  return {
    ...claimKey(first, bucketSize),
    k: { S: 'F' },
    n: { N: String(count) },
    ts: { N: String(Date.now()) },
  };
}

export interface Claim {
  kind: 'E' | 'F';
  first: bigint;
  /** Positions covered. */
  count: number;
  /** Positions holding events, from `first` on (0 for a filler). */
  used: number;
  streamId: string | undefined;
  firstEventId: string | undefined;
}

export function parseClaim(item: Item): Claim {
  const kind = item.k?.S === 'E' ? 'E' : 'F';
  const count = Number(item.n!.N);
  return {
    kind,
    first: BigInt(item.sk!.S!.slice(POS_PREFIX.length)),
    count,
    used: kind === 'F' ? 0 : item.u?.N === undefined ? count : Number(item.u.N),
    streamId: item.s?.S,
    firstEventId: item.id?.S,
  };
}

/** What appends and readAll need of an event item without decoding its payload. */
export interface EventRef {
  id: string;
  version: number;
  position: bigint;
}

export function parseRef(item: Item): EventRef {
  return { id: item.id!.S!, version: Number(item.v!.N), position: BigInt(item.p!.N!) };
}

export function streamIdOf(item: Item): string {
  return item.pk!.S!.slice(STREAM_PREFIX.length);
}

export function toRecorded(item: Item): RecordedEvent {
  return {
    id: item.id!.S!,
    streamId: streamIdOf(item),
    type: item.t!.S!,
    data: JSON.parse(item.d!.S!) as JsonValue,
    metadata: JSON.parse(item.m!.S!) as JsonObject,
    version: Number(item.v!.N),
    position: BigInt(item.p!.N!),
    createdAt: new Date(Number(item.ts!.N)),
  };
}
