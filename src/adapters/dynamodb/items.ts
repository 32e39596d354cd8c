import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { JsonObject, JsonValue, PreparedEvent, RecordedEvent } from '../../contract/index.js';

/**
 * The table's item layout. One table holds four kinds of item:
 *
 * - an event: `pk = STREAM#<streamId>`, `sk = VERSION#<version, 20 digits>`, with `id`, `t` (type), `d` (data JSON),
 *   `m` (metadata JSON), `v` (version), `p` (position), `ts` (ms since epoch) and `lb` (`LOG#<bucket>`), the
 *   partition key of the `log` index (sort key `p`); the last event of a commit that used only part of its
 *   positions also carries `x`, the first position after them (`p + 1 .. x - 1` hold no event);
 * - a claim: `pk = LOG#<bucket>`, `sk = POS#<first position, 20 digits>`, one per commit (`k = E`, written in the
 *   transaction that writes the events of one or more appends, `g` naming that commit) or per filled hole (`k = F`),
 *   covering positions `first .. first + n - 1`; a commit's events take the first `u` of them (`u` absent: all);
 * - the position counter: `pk = COUNTER`, `sk = POSITION`, attribute `h` (the highest position handed out);
 * - lifecycle items (see stream-meta.ts): a stream's state `pk = STREAM#<streamId>`, `sk = VERSION~`; an erased
 *   event's stub at its own key (`k = R`, no payload); a tombstone's fence at `VERSION#<version + 1>` (`k = T`);
 *   and `pk = RETENTION`, `sk = STREAM#<streamId>` for each stream `enforceRetention` must visit.
 * - a stream's snapshot: `pk = STREAM#<streamId>`, `sk = SNAPSHOT`, with `d` (the state's JSON), `v` (its version),
 *   `sv` (its schema version) and `ts`. It sorts before the stream's `VERSION#` items and carries no `lb`, so the
 *   stream queries (which all bound `sk` to `VERSION#…`) and the `log` index never see it.
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

/**
 * Stored attribute names, short because DynamoDB bills every item for them. Code names attributes through these
 * maps and reads items only through the decoders below.
 */
export const EVENT_ATTR = {
  eventId: 'id',
  type: 't',
  dataJson: 'd',
  metadataJson: 'm',
  version: 'v',
  position: 'p',
  createdAt: 'ts',
  /**
   * On an imported event (`preserveCreatedAt`): the time it was first recorded, which reads return as `createdAt`.
   * `ts` stays the writer's clock, which readAll's hole detection relies on.
   */
  importedCreatedAt: 'ca',
  logBucket: 'lb',
  /** On a commit's last event when its range has unused positions: the first position after them. */
  skipTo: 'x',
} as const;

export const CLAIM_ATTR = {
  kind: 'k',
  count: 'n',
  used: 'u',
  commitId: 'g',
  streamId: 's',
  firstVersion: 'v',
  firstEventId: 'id',
  createdAt: 'ts',
} as const;

export const COUNTER_ATTR = { highest: 'h' } as const;

/** The sort key of a stream's snapshot item, in the stream's partition. */
export const SNAPSHOT_SORT_KEY = 'SNAPSHOT';
export const SNAPSHOT_ATTR = { state: 'd', version: 'v', schemaVersion: 'sv', savedAt: 'ts' } as const;

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

/** The key condition of a Query for the events of `streamId` from version `from` to `to`, both included. */
export function versionRange(
  streamId: string,
  from: number,
  to: number,
): { KeyConditionExpression: string; ExpressionAttributeValues: Item } {
  return {
    KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
    ExpressionAttributeValues: {
      ':pk': { S: STREAM_PREFIX + streamId },
      ':from': { S: VERSION_PREFIX + pad(from) },
      ':to': { S: VERSION_PREFIX + pad(to) },
    },
  };
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
    [EVENT_ATTR.eventId]: { S: e.id },
    [EVENT_ATTR.type]: { S: e.type },
    [EVENT_ATTR.dataJson]: { S: e.dataJson },
    [EVENT_ATTR.metadataJson]: { S: e.metadataJson },
    [EVENT_ATTR.version]: { N: String(version) },
    [EVENT_ATTR.position]: { N: position.toString() },
    [EVENT_ATTR.createdAt]: { N: String(createdAt) },
    [EVENT_ATTR.logBucket]: { S: LOG_PREFIX + bucketOf(position, bucketSize).toString() },
  };
  if (skipTo !== undefined) item[EVENT_ATTR.skipTo] = { N: skipTo.toString() };
  if (e.createdAt !== undefined) item[EVENT_ATTR.importedCreatedAt] = { N: String(e.createdAt) };
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
    [CLAIM_ATTR.kind]: { S: 'E' },
    [CLAIM_ATTR.count]: { N: String(count) },
    ...(used === count ? {} : { [CLAIM_ATTR.used]: { N: String(used) } }),
    [CLAIM_ATTR.streamId]: { S: streamId },
    [CLAIM_ATTR.firstVersion]: { N: String(firstVersion) },
    [CLAIM_ATTR.firstEventId]: { S: firstEventId },
    [CLAIM_ATTR.createdAt]: { N: String(createdAt) },
    ...(commitId === '' ? {} : { [CLAIM_ATTR.commitId]: { S: commitId } }),
  };
}

/** A filler: positions `first .. first + count - 1` hold no event and never will. */
export function fillerItem(first: bigint, count: number, bucketSize: bigint): Item {
  return {
    ...claimKey(first, bucketSize),
    [CLAIM_ATTR.kind]: { S: 'F' },
    [CLAIM_ATTR.count]: { N: String(count) },
    [CLAIM_ATTR.createdAt]: { N: String(Date.now()) },
  };
}

export interface Claim {
  kind: 'E' | 'F';
  first: bigint;
  /** Positions covered. */
  count: number;
  /** Positions holding events, from `first` on (0 for a filler). */
  used: number;
  /** The commit that wrote an `E` claim (absent on claims written without one). */
  commitId: string | undefined;
}

function text(item: Item, name: string): string {
  const value = item[name]?.S;
  if (value === undefined) throw new TypeError(`A stored item lacks its '${name}' attribute`);
  return value;
}

function numeric(item: Item, name: string): string {
  const value = item[name]?.N;
  if (value === undefined) throw new TypeError(`A stored item lacks its '${name}' attribute`);
  return value;
}

export function decodeClaim(item: Item): Claim {
  const kind = item[CLAIM_ATTR.kind]?.S === 'E' ? 'E' : 'F';
  const count = Number(numeric(item, CLAIM_ATTR.count));
  const used = item[CLAIM_ATTR.used]?.N;
  return {
    kind,
    first: BigInt(text(item, 'sk').slice(POS_PREFIX.length)),
    count,
    used: kind === 'F' ? 0 : used === undefined ? count : Number(used),
    commitId: item[CLAIM_ATTR.commitId]?.S,
  };
}

/** What appends and readAll need of an event item without decoding its payload. */
export interface EventRef {
  id: string;
  version: number;
  position: bigint;
}

/** The attributes `decodeRef` reads, for a ProjectionExpression. */
export const REF_PROJECTION = [EVENT_ATTR.eventId, EVENT_ATTR.version, EVENT_ATTR.position].join(', ');

export function decodeRef(item: Item): EventRef {
  return { id: text(item, EVENT_ATTR.eventId), version: decodeVersion(item), position: decodePosition(item) };
}

/**
 * The version and position of an event or of an erased event's stub (whose id is ''), or undefined for an item
 * without a position (a tombstone's fence).
 */
export function positionedRef(item: Item): EventRef | undefined {
  if (item[EVENT_ATTR.position] === undefined || item[EVENT_ATTR.version] === undefined) return undefined;
  return {
    id: item[EVENT_ATTR.eventId]?.S ?? '',
    version: decodeVersion(item),
    position: decodePosition(item),
  };
}

export function decodeVersion(item: Item): number {
  return Number(numeric(item, EVENT_ATTR.version));
}

export function decodePosition(item: Item): bigint {
  return BigInt(numeric(item, EVENT_ATTR.position));
}

export function decodeType(item: Item): string {
  return text(item, EVENT_ATTR.type);
}

/** When the event's writer wrote it, in ms by the writer's clock. */
export function decodeCreatedAt(item: Item): number {
  return Number(numeric(item, EVENT_ATTR.createdAt));
}

/**
 * When the event was recorded, in ms: an imported event's `ca`, else its writer's clock (`ts`). What reads return
 * as `createdAt` and what retention by age counts from.
 */
export function decodeRecordedAt(item: Item): number {
  const imported = item[EVENT_ATTR.importedCreatedAt]?.N;
  return imported === undefined ? decodeCreatedAt(item) : Number(imported);
}

/** Where the walk goes on after this event: the next position, or past the unused positions of its commit. */
export function decodeNextPosition(item: Item): bigint {
  const skipTo = item[EVENT_ATTR.skipTo]?.N;
  return skipTo === undefined ? decodePosition(item) + 1n : BigInt(skipTo);
}

export function decodeStreamId(item: Item): string {
  return text(item, 'pk').slice(STREAM_PREFIX.length);
}

/** The counter's highest position handed out; 0 before the first. */
export function decodeCounter(item: Item | undefined): bigint {
  const highest = item?.[COUNTER_ATTR.highest]?.N;
  return highest === undefined ? 0n : BigInt(highest);
}

/**
 * Whether an item under `VERSION#` is an event, rather than an erased event's stub or a tombstone's fence. Stubs and
 * fences keep their keys occupied so that no version is ever written twice (see docs/dynamodb.md, Lifecycle).
 */
export function isEvent(item: Item): boolean {
  return item[EVENT_ATTR.eventId] !== undefined;
}

export function decodeEvent(item: Item): RecordedEvent {
  return {
    id: text(item, EVENT_ATTR.eventId),
    streamId: decodeStreamId(item),
    type: decodeType(item),
    data: JSON.parse(text(item, EVENT_ATTR.dataJson)) as JsonValue,
    metadata: JSON.parse(text(item, EVENT_ATTR.metadataJson)) as JsonObject,
    version: decodeVersion(item),
    position: decodePosition(item),
    createdAt: new Date(decodeRecordedAt(item)),
  };
}
