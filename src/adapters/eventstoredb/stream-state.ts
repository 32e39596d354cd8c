import {
  BACKWARDS,
  END,
  type EventStoreDBClient,
  jsonEvent,
  NO_STREAM,
  StreamNotFoundError,
} from '@eventstore/db-client';
import {
  type JsonObject,
  StreamDeletedError,
  type StreamMetadata,
  WrongExpectedVersionError,
} from '../../contract/index.js';
import { type ErrorContext, mapError } from './map-error.js';

/**
 * How the contract's stream lifecycle sits on the server's own stream metadata (the `$metadata` event of the
 * metastream `$$<stream>`):
 *
 * - `$maxCount`, `$maxAge` are the contract's `maxCount`, `maxAge` as they are (the server applies them on read);
 * - `$tb` (truncate before, a revision) hides the events below it; the contract's `truncateBefore` is a version,
 *   `$tb + 1`. A soft-deleted stream has `$tb` = long.MaxValue (the server's marker, written by its Delete call);
 * - the rest of the contract lives under one key, {@link KIT_KEY}: the metadata version (the metastream's revision
 *   counts the server's own writes too: a delete, a re-creation), the custom metadata, and the point below which
 *   `enforceRetention` truncated (so that `truncateBefore` still reports what the caller truncated). Other keys
 *   (`$acl`, other tools' keys) are kept by every write.
 */
export const KIT_KEY = 'eventstore-kit';

export interface KitMetadata {
  metadataVersion?: number;
  custom?: JsonObject;
  /** `$tb` as `enforceRetention` raised it, valid while the metastream is at revision `at`. */
  retention?: { tb: number; truncateBefore: number; at: number };
}

/** The server's view of a stream's metadata: the raw JSON and the metastream revision that holds it. */
export interface RawMetadata {
  raw: Record<string, unknown>;
  /** The metastream's revision, undefined when it has no events. */
  revision: bigint | undefined;
}

/** A `$tb` at or above this is the soft-delete marker (long.MaxValue, which a double cannot hold exactly). */
const SOFT_DELETED_TB = Number.MAX_SAFE_INTEGER;
/** An expected revision no stream reaches: an empty append at it only reports the stream's current revision. */
const PROBE_REVISION = 1n << 62n;

export function metastreamOf(streamId: string): string {
  return `$$${streamId}`;
}

function int(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined;
}

export function kitOf(meta: RawMetadata): KitMetadata {
  const k = meta.raw[KIT_KEY];
  return k !== null && typeof k === 'object' && !Array.isArray(k) ? (k as KitMetadata) : {};
}

/** `$tb` as a revision: 0 when absent, `Infinity` for the soft-delete marker. */
export function physicalTb(meta: RawMetadata): number {
  const tb = meta.raw.$tb;
  if (typeof tb !== 'number' || tb < 0) return 0;
  return tb >= SOFT_DELETED_TB ? Number.POSITIVE_INFINITY : Math.floor(tb);
}

/** The stream's metadata: what the last `$metadata` event says, `{}` when there is none. STREAM_DELETED for a tombstone. */
export async function readMetadata(
  client: EventStoreDBClient,
  streamId: string,
  ctx: ErrorContext,
): Promise<RawMetadata> {
  // Each read runs to the end of its call (one event): a call left early would never finish (see abandon()).
  let found: RawMetadata = { raw: {}, revision: undefined };
  try {
    for await (const { event } of client.readStream(metastreamOf(streamId), {
      direction: BACKWARDS,
      fromRevision: END,
      maxCount: 1,
    })) {
      const data = event?.isJson ? event.data : undefined;
      const raw = data !== null && typeof data === 'object' && !Array.isArray(data) ? data : {};
      found = { raw: raw as Record<string, unknown>, revision: event!.revision };
    }
  } catch (err) {
    if (!(err instanceof StreamNotFoundError)) throw mapError(err, { ...ctx, streamId });
  }
  return found;
}

/**
 * The stream's version as the server's index knows it: its last event's revision + 1, whatever the metadata hides
 * (a soft-deleted stream keeps its last revision). A backwards read of one event gives it while the last event is
 * visible; otherwise an append of no events at a revision no stream reaches is refused with the current revision
 * (IndexWriter.CheckCommit answers WrongExpectedVersion with it, and writes nothing).
 */
export async function streamVersion(
  client: EventStoreDBClient,
  streamId: string,
  ctx: ErrorContext,
): Promise<number> {
  let last: bigint | undefined;
  try {
    for await (const { event } of client.readStream(streamId, {
      direction: BACKWARDS,
      fromRevision: END,
      maxCount: 1,
    })) {
      last = event!.revision;
    }
  } catch (err) {
    if (!(err instanceof StreamNotFoundError)) throw mapError(err, { ...ctx, streamId });
  }
  if (last !== undefined) return Number(last) + 1;
  let refused: unknown;
  try {
    const result = await client.appendToStream(streamId, [], { expectedRevision: PROBE_REVISION });
    if (!result.success)
      return result.nextExpectedRevision < 0n ? 0 : Number(result.nextExpectedRevision) + 1;
  } catch (err) {
    refused = mapError(err, { ...ctx, streamId });
  }
  if (refused instanceof WrongExpectedVersionError && refused.actualVersion !== undefined) {
    // A tombstone's revision is long.MaxValue.
    if (refused.actualVersion > Number.MAX_SAFE_INTEGER) throw new StreamDeletedError(streamId);
    return refused.actualVersion;
  }
  throw refused ?? new Error(`EventStoreDB accepted an append at revision ${PROBE_REVISION}`);
}

/** What the lifecycle calls decide from. */
export interface StreamState {
  version: number;
  softDeleted: boolean;
  meta: RawMetadata;
}

export async function streamState(
  client: EventStoreDBClient,
  streamId: string,
  ctx: ErrorContext,
): Promise<StreamState> {
  const [meta, version] = await Promise.all([
    readMetadata(client, streamId, ctx),
    streamVersion(client, streamId, ctx),
  ]);
  return { version, meta, softDeleted: version > 0 && physicalTb(meta) === Number.POSITIVE_INFINITY };
}

/** The contract's truncation point (a version, at least 1). */
export function contractTruncateBefore(state: StreamState): number {
  const tb = physicalTb(state.meta);
  if (tb === Number.POSITIVE_INFINITY) return state.version + 1;
  const r = kitOf(state.meta).retention;
  if (r && r.tb === tb && BigInt(r.at) === state.meta.revision) return r.truncateBefore;
  return tb + 1;
}

/** The contract's view of the metadata. */
export function contractMetadata(state: StreamState): StreamMetadata {
  const out: StreamMetadata = {};
  const maxCount = int(state.meta.raw.$maxCount);
  const maxAge = int(state.meta.raw.$maxAge);
  if (maxCount) out.maxCount = maxCount;
  if (maxAge) out.maxAge = maxAge;
  const tb = contractTruncateBefore(state);
  if (tb > 1) out.truncateBefore = tb;
  const custom = kitOf(state.meta).custom;
  if (custom !== undefined) out.custom = custom;
  return out;
}

/**
 * Writes the metadata at the metastream revision `meta` was read at: the contract's `metadata` (retention and
 * custom), `$tb` at `truncateBefore − 1` or higher where `enforceRetention` already truncated further, and every
 * key this adapter does not own as it was. Resolves false when another writer moved the metastream first.
 */
export async function writeMetadata(
  client: EventStoreDBClient,
  streamId: string,
  meta: RawMetadata,
  update: { metadata: StreamMetadata; truncateBefore: number; metadataVersion: number; physical?: number },
  ctx: ErrorContext,
): Promise<boolean> {
  const { $maxCount: _c, $maxAge: _a, $tb: _t, [KIT_KEY]: _k, ...kept } = meta.raw;
  const old = physicalTb(meta);
  const floor = update.truncateBefore - 1;
  const tb = Math.max(floor, update.physical ?? 0, old === Number.POSITIVE_INFINITY ? 0 : old);
  const revision = meta.revision === undefined ? NO_STREAM : meta.revision;
  const at = meta.revision === undefined ? 0 : Number(meta.revision) + 1;
  const kit: KitMetadata = {
    metadataVersion: update.metadataVersion,
    ...(update.metadata.custom === undefined ? {} : { custom: update.metadata.custom }),
    ...(tb > floor ? { retention: { tb, truncateBefore: update.truncateBefore, at } } : {}),
  };
  const data = {
    ...kept,
    ...(update.metadata.maxCount === undefined ? {} : { $maxCount: update.metadata.maxCount }),
    ...(update.metadata.maxAge === undefined ? {} : { $maxAge: update.metadata.maxAge }),
    ...(tb > 0 ? { $tb: tb } : {}),
    [KIT_KEY]: kit,
  };
  try {
    const result = await client.appendToStream(
      metastreamOf(streamId),
      jsonEvent({ type: '$metadata', data: data as unknown as JsonObject }),
      { expectedRevision: revision },
    );
    return result.success;
  } catch (err) {
    const mapped = mapError(err, { ...ctx, streamId });
    if (mapped instanceof WrongExpectedVersionError) return false;
    throw mapped;
  }
}
