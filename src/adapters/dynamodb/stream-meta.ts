import { type AttributeValue, QueryCommand } from '@aws-sdk/client-dynamodb';
import type { JsonObject, Operation, StreamMetadata } from '../../contract/index.js';
import type { StoreContext } from './context.js';
import {
  decodeRef,
  decodeVersion,
  EVENT_ATTR,
  type EventRef,
  type Item,
  isEvent,
  STREAM_PREFIX,
  streamKey,
  VERSION_PREFIX,
} from './items.js';

/**
 * The lifecycle state of a stream lives in one item of its partition, `sk = VERSION~`: it sorts right after the
 * stream's events (`~` follows `#`), so one descending Query returns it together with the last events, and the
 * events' `begins_with(sk, 'VERSION#')` never sees it. Streams that were never deleted, truncated or given metadata
 * have none.
 */
export const STATE_SK = 'VERSION~';

export const STATE_ATTR = {
  /** 0 live, 1 soft-deleted (until an append recreates the stream), 2 tombstoned. */
  status: 'st',
  /** The stream's version when it was last deleted or truncated (its events may all be erased since). */
  version: 'sv',
  /** The user's truncation point: events below it are gone. Only grows. */
  truncateBefore: 'tb',
  /** Events below this version are hidden from every read and due for erasure (≥ truncateBefore). Only grows. */
  eraseBelow: 'er',
  /** Events below this version are erased: the resumable erasure's progress marker. */
  erasedBelow: 'ed',
  metadataVersion: 'mv',
  maxCount: 'mc',
  maxAge: 'ma',
  /** The custom metadata, as JSON text. */
  custom: 'cu',
  /** +1 on every write of this item: the condition that makes each write a compare-and-set. */
  revision: 'rv',
} as const;

/** What stubs and fences carry in `k`. */
export const STUB_KIND = { erased: 'R', tombstone: 'T' } as const;

export const RETENTION_PK = 'RETENTION';

export interface StreamMeta {
  status: 0 | 1 | 2;
  version: number;
  truncateBefore: number;
  eraseBelow: number;
  erasedBelow: number;
  metadataVersion: number;
  maxCount: number | undefined;
  maxAge: number | undefined;
  custom: JsonObject | undefined;
  /** 0 when the item does not exist. */
  revision: number;
}

export const EMPTY_META: StreamMeta = Object.freeze({
  status: 0,
  version: 0,
  truncateBefore: 1,
  eraseBelow: 1,
  erasedBelow: 1,
  metadataVersion: 0,
  maxCount: undefined,
  maxAge: undefined,
  custom: undefined,
  revision: 0,
});

export function stateKey(streamId: string): Item {
  return { pk: { S: STREAM_PREFIX + streamId }, sk: { S: STATE_SK } };
}

export function retentionKey(streamId: string): Item {
  return { pk: { S: RETENTION_PK }, sk: { S: STREAM_PREFIX + streamId } };
}

function num(item: Item, name: string): number | undefined {
  const n = item[name]?.N;
  return n === undefined ? undefined : Number(n);
}

export function decodeMeta(item: Item | undefined): StreamMeta {
  if (item === undefined) return EMPTY_META;
  const custom = item[STATE_ATTR.custom]?.S;
  return {
    status: (num(item, STATE_ATTR.status) ?? 0) as 0 | 1 | 2,
    version: num(item, STATE_ATTR.version) ?? 0,
    truncateBefore: num(item, STATE_ATTR.truncateBefore) ?? 1,
    eraseBelow: num(item, STATE_ATTR.eraseBelow) ?? 1,
    erasedBelow: num(item, STATE_ATTR.erasedBelow) ?? 1,
    metadataVersion: num(item, STATE_ATTR.metadataVersion) ?? 0,
    maxCount: num(item, STATE_ATTR.maxCount),
    maxAge: num(item, STATE_ATTR.maxAge),
    custom: custom === undefined ? undefined : (JSON.parse(custom) as JsonObject),
    revision: num(item, STATE_ATTR.revision) ?? 0,
  };
}

/** The whole state item for `meta` (a Put replaces it). */
export function metaItem(streamId: string, meta: StreamMeta): Item {
  const item: Item = {
    ...stateKey(streamId),
    [STATE_ATTR.status]: { N: String(meta.status) },
    [STATE_ATTR.version]: { N: String(meta.version) },
    [STATE_ATTR.truncateBefore]: { N: String(meta.truncateBefore) },
    [STATE_ATTR.eraseBelow]: { N: String(meta.eraseBelow) },
    [STATE_ATTR.erasedBelow]: { N: String(meta.erasedBelow) },
    [STATE_ATTR.metadataVersion]: { N: String(meta.metadataVersion) },
    [STATE_ATTR.revision]: { N: String(meta.revision) },
  };
  if (meta.maxCount !== undefined) item[STATE_ATTR.maxCount] = { N: String(meta.maxCount) };
  if (meta.maxAge !== undefined) item[STATE_ATTR.maxAge] = { N: String(meta.maxAge) };
  if (meta.custom !== undefined) item[STATE_ATTR.custom] = { S: JSON.stringify(meta.custom) };
  return item;
}

/** The condition that the state item is still at `revision` (0: absent). */
export function revisionCondition(revision: number): {
  ConditionExpression: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, AttributeValue>;
} {
  if (revision === 0) return { ConditionExpression: 'attribute_not_exists(pk)' };
  return {
    ConditionExpression: '#rv = :rv',
    ExpressionAttributeNames: { '#rv': STATE_ATTR.revision },
    ExpressionAttributeValues: { ':rv': { N: String(revision) } },
  };
}

/** An erased event's stub: its keys, version and place in the log (so readAll accounts for its position), no data. */
export function erasedStub(event: Item): Item {
  const stub: Item = {
    pk: event.pk!,
    sk: event.sk!,
    k: { S: STUB_KIND.erased },
  };
  for (const name of [
    EVENT_ATTR.version,
    EVENT_ATTR.position,
    EVENT_ATTR.logBucket,
    EVENT_ATTR.createdAt,
    EVENT_ATTR.importedCreatedAt,
    EVENT_ATTR.skipTo,
  ]) {
    const value = event[name];
    if (value !== undefined) stub[name] = value;
  }
  return stub;
}

/** The fence a hard delete puts at version + 1: no append can ever write there, so none can follow the tombstone. */
export function tombstoneFence(streamId: string, version: number): Item {
  return { ...streamKey(streamId, version + 1), k: { S: STUB_KIND.tombstone } };
}

/** What `readView` reads of each item: keys and stub kind, an event's ref, and the whole state item. */
const PROJECTED = [
  'sk',
  'k',
  EVENT_ATTR.eventId,
  EVENT_ATTR.version,
  EVENT_ATTR.position,
  ...Object.values(STATE_ATTR),
];

/** A stream as the lifecycle sees it: its state item and its last events (newest first). */
export interface StreamView {
  meta: StreamMeta;
  /** The stream's version: its highest event or stub, or the version recorded at its last delete. */
  version: number;
  /** Soft-deleted and not recreated since. */
  softDeleted: boolean;
  tombstoned: boolean;
  /** The window's events that are not hidden by a delete or truncation (newest first). */
  events: EventRef[];
}

/**
 * Reads the stream's state item and its last `window` events in one strongly consistent Query (the state item
 * sorts after the events, so it comes first in a descending read).
 */
export async function readView(
  ctx: StoreContext,
  streamId: string,
  window: number,
  operation: Operation,
): Promise<StreamView> {
  const out = await ctx.call(
    { operation, request: 'Query (stream state)', streamId },
    () =>
      ctx.client.send(
        new QueryCommand({
          TableName: ctx.tableName,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lo AND :hi',
          ExpressionAttributeValues: {
            ':pk': { S: STREAM_PREFIX + streamId },
            ':lo': { S: VERSION_PREFIX },
            ':hi': { S: STATE_SK },
          },
          // Every name through a placeholder, so that no attribute can collide with a reserved word.
          ProjectionExpression: PROJECTED.map((_, i) => `#a${i}`).join(', '),
          ExpressionAttributeNames: Object.fromEntries(PROJECTED.map((name, i) => [`#a${i}`, name])),
          ScanIndexForward: false,
          // The state item, a tombstone's fence, and the window.
          Limit: window + 2,
          ConsistentRead: true,
        }),
      ),
    true,
  );
  return viewOf(out.Items ?? []);
}

/** Interprets the items of `readView`'s Query. */
export function viewOf(items: Item[]): StreamView {
  let meta = EMPTY_META;
  let top = 0;
  let tombstoned = false;
  const events: EventRef[] = [];
  for (const item of items) {
    if (item.sk?.S === STATE_SK) {
      meta = decodeMeta(item);
    } else if (item.k?.S === STUB_KIND.tombstone) {
      tombstoned = true;
    } else {
      const v = decodeVersion(item);
      if (top === 0) top = v;
      if (isEvent(item) && v >= meta.eraseBelow) events.push(decodeRef(item));
    }
  }
  tombstoned ||= meta.status === 2;
  const version = Math.max(top, meta.version);
  return {
    meta,
    version,
    softDeleted: meta.status === 1 && version === meta.version,
    tombstoned,
    events,
  };
}

/** The user-visible metadata of a state item. */
export function metadataOf(meta: StreamMeta): StreamMetadata {
  const out: StreamMetadata = {};
  if (meta.maxCount !== undefined) out.maxCount = meta.maxCount;
  if (meta.maxAge !== undefined) out.maxAge = meta.maxAge;
  if (meta.truncateBefore > 1) out.truncateBefore = meta.truncateBefore;
  if (meta.custom !== undefined) out.custom = meta.custom;
  return out;
}

/** The lowest version a read may show, given the stream's version, or Infinity when none. */
export function visibleFrom(meta: StreamMeta, version: number): number {
  let floor = meta.eraseBelow;
  if (meta.maxCount !== undefined) floor = Math.max(floor, version - meta.maxCount + 1);
  return floor;
}

/** Events recorded at or before this time (ms) are hidden by `maxAge`; -Infinity without one. */
export function hiddenUpTo(meta: StreamMeta, now: number): number {
  return meta.maxAge === undefined ? Number.NEGATIVE_INFINITY : now - meta.maxAge * 1000;
}
