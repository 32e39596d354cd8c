import {
  type EventStoreDBClient,
  eventTypeFilter,
  FORWARDS,
  NO_STREAM,
  START,
  StreamNotFoundError,
  streamNameFilter,
} from '@eventstore/db-client';
import {
  expectedVersionHolds,
  type PreparedDeleteStream,
  type PreparedSetStreamMetadata,
  type PreparedTruncateStream,
} from '../../adapter/index.js';
import {
  type DeleteStreamResult,
  ErrorCodes,
  EventStoreError,
  InvalidArgumentError,
  isEventStoreError,
  type RetentionResult,
  type StreamMetadataResult,
  WrongExpectedVersionError,
} from '../../contract/index.js';
import { type ErrorContext, mapError } from './map-error.js';
import { escapeRegex, isSystemEvent, untilCaughtUp } from './read-all.js';
import { forgetSnapshot } from './snapshots.js';
import type { StreamHeads } from './stream-heads.js';
import {
  contractMetadata,
  contractTruncateBefore,
  kitOf,
  physicalTb,
  readMetadata,
  type StreamState,
  streamState,
  streamVersion,
  writeMetadata,
} from './stream-state.js';

/** Rounds of "another writer moved the stream or its metadata, read again" before a lifecycle call gives up. */
const MAX_ROUNDS = 50;

export interface LifecycleDeps {
  client: EventStoreDBClient;
  /**
   * The append's stream heads. They may name events a truncation or retention removed since, which the append
   * checks against `$tb` before it trusts them; a delete forgets the head, because it changes which expected
   * versions the stream accepts.
   */
  heads: StreamHeads;
}

function raced(streamId: string, what: string): EventStoreError {
  return new EventStoreError(
    ErrorCodes.UNAVAILABLE,
    `Stream '${streamId}': the ${what} lost ${MAX_ROUNDS} races in a row to other writers; nothing was changed`,
    { streamId },
  );
}

/** Runs `attempt` until it returns a value (undefined means "the server refused the revision read: again"). */
async function rounds<T>(streamId: string, what: string, attempt: () => Promise<T | undefined>): Promise<T> {
  for (let round = 1; round <= MAX_ROUNDS; round++) {
    const done = await attempt();
    if (done !== undefined) return done;
    await new Promise((r) => setTimeout(r, Math.min(64, 2 ** round) * Math.random()));
  }
  throw raced(streamId, what);
}

/** True when the client's error is a wrong expected revision (the stream moved since it was read). */
function isRace(err: unknown, ctx: ErrorContext): boolean {
  return mapError(err, ctx) instanceof WrongExpectedVersionError;
}

function wrongVersion(
  streamId: string,
  expected: number | 'any' | 'stream_exists',
  actual: number,
  what: string,
) {
  return new WrongExpectedVersionError(streamId, expected, actual, {
    reason: `${what} at a wrong expected version`,
  });
}

/**
 * Soft delete through the server's Delete, hard delete through its Tombstone, each at the exact revision the state
 * was read at, so the contract's expected version is checked against what the server deletes. The contract's
 * differences from the server are decided here: a soft-deleted stream (or one that never had events) is not
 * deleted again, so a retry changes nothing; `'no_stream'` holds for it; a tombstone hard-deleted again succeeds.
 */
export async function deleteStream(
  deps: LifecycleDeps,
  p: PreparedDeleteStream,
): Promise<DeleteStreamResult> {
  const ctx: ErrorContext = { operation: 'deleteStream', streamId: p.streamId };
  return rounds(p.streamId, 'delete', async () => {
    let state: StreamState;
    try {
      state = await streamState(deps.client, p.streamId, ctx);
    } catch (err) {
      if (p.hard && isEventStoreError(err, ErrorCodes.STREAM_DELETED)) {
        // A retried hard delete also finishes what a crash after the tombstone left: the snapshot's.
        await forgetSnapshot(deps.client, p.streamId, true);
        return { version: await tombstonedVersion(deps.client, p.streamId) };
      }
      throw err;
    }
    if (!expectedVersionHolds(p.expectedVersion, state)) {
      throw wrongVersion(p.streamId, p.expectedVersion, state.version, 'delete');
    }
    const { version } = state;
    if (!p.hard && (version === 0 || state.softDeleted)) return { version };
    const expectedRevision = version === 0 ? NO_STREAM : BigInt(version - 1);
    // The snapshot goes with the stream (snapshots.ts, forgetSnapshot): before a soft delete, after a tombstone.
    if (!p.hard) await forgetSnapshot(deps.client, p.streamId, false);
    try {
      if (p.hard) await deps.client.tombstoneStream(p.streamId, { expectedRevision });
      else await deps.client.deleteStream(p.streamId, { expectedRevision });
    } catch (err) {
      if (isRace(err, ctx)) return undefined;
      throw mapError(err, ctx);
    } finally {
      deps.heads.forget(p.streamId);
    }
    if (p.hard) await forgetSnapshot(deps.client, p.streamId, true);
    return { version };
  });
}

/**
 * The version a tombstoned stream had: the server keeps no readable trace of it (reads of the stream and of its
 * metastream are StreamDeleted), so $all is searched, filtered on the stream's name, for its last event before the
 * tombstone. A scavenge removes those events; then nothing tells the version and this is 0.
 */
async function tombstonedVersion(client: EventStoreDBClient, streamId: string): Promise<number> {
  let version = 0;
  try {
    const sub = client.subscribeToAll({
      fromPosition: START,
      filter: streamNameFilter({ regex: `^${escapeRegex(streamId)}$` }),
    });
    for await (const { resolved } of untilCaughtUp(sub)) {
      const e = resolved.event;
      if (e && e.streamId === streamId && e.revision < BigInt(Number.MAX_SAFE_INTEGER)) {
        version = Math.max(version, Number(e.revision) + 1);
      }
    }
  } catch (err) {
    throw mapError(err, { operation: 'deleteStream', streamId });
  }
  return version;
}

/** Moves the server's `$tb` to `before − 1`, keeping the rest of the metadata and its contract version. */
export async function truncateStream(deps: LifecycleDeps, p: PreparedTruncateStream): Promise<void> {
  const ctx: ErrorContext = { operation: 'truncateStream', streamId: p.streamId };
  await rounds(p.streamId, 'truncation', async () => {
    const state = await streamState(deps.client, p.streamId, ctx);
    if (!expectedVersionHolds(p.expectedVersion, state)) {
      throw wrongVersion(p.streamId, p.expectedVersion, state.version, 'truncate');
    }
    checkBefore(p.streamId, p.before, state.version, 'options.before');
    const current = contractTruncateBefore(state);
    if (p.before <= current) return true;
    const written = await writeMetadata(
      deps.client,
      p.streamId,
      state.meta,
      {
        metadata: contractMetadata(state),
        truncateBefore: p.before,
        metadataVersion: kitOf(state.meta).metadataVersion ?? 0,
      },
      ctx,
    );
    return written ? true : undefined;
  });
}

function checkBefore(streamId: string, before: number, version: number, argument: string): void {
  if (before > version + 1) {
    throw new InvalidArgumentError(
      `Stream '${streamId}': ${argument} ${before} is past the stream's end (version ${version})`,
      { argument, streamId },
    );
  }
}

export async function getStreamMetadata(
  deps: LifecycleDeps,
  streamId: string,
): Promise<StreamMetadataResult> {
  const ctx: ErrorContext = { operation: 'getStreamMetadata', streamId };
  const meta = await readMetadata(deps.client, streamId, ctx);
  // The version is needed only to translate the soft-delete marker (and to report STREAM_DELETED).
  const version = await streamVersion(deps.client, streamId, ctx);
  const state: StreamState = {
    version,
    meta,
    softDeleted: version > 0 && physicalTb(meta) === Number.POSITIVE_INFINITY,
  };
  return { metadata: contractMetadata(state), metadataVersion: kitOf(meta).metadataVersion ?? 0 };
}

/**
 * Replaces the contract's metadata at the metastream revision it was read at. On a soft-deleted stream a metadata
 * write would undelete it on the server (a new `$tb` replaces the marker, and the events it hid before a scavenge
 * come back), so the write keeps `$tb` past the last event and the server's Delete then sets the marker again.
 */
export async function setStreamMetadata(
  deps: LifecycleDeps,
  p: PreparedSetStreamMetadata,
): Promise<{ metadataVersion: number }> {
  const ctx: ErrorContext = { operation: 'setStreamMetadata', streamId: p.streamId };
  return rounds(p.streamId, 'metadata write', async () => {
    const state = await streamState(deps.client, p.streamId, ctx);
    const version = kitOf(state.meta).metadataVersion ?? 0;
    if (p.expectedMetadataVersion !== 'any' && p.expectedMetadataVersion !== version) {
      throw new WrongExpectedVersionError(p.streamId, p.expectedMetadataVersion, version, {
        reason: 'the stream metadata is at another version',
      });
    }
    const current = contractTruncateBefore(state);
    const { truncateBefore } = p.metadata;
    if (truncateBefore !== undefined) {
      checkBefore(p.streamId, truncateBefore, state.version, 'metadata.truncateBefore');
      if (truncateBefore < current) {
        throw new InvalidArgumentError(
          `Stream '${p.streamId}': metadata.truncateBefore ${truncateBefore} is below the stream's ${current}; a truncation cannot be undone`,
          { argument: 'metadata.truncateBefore', streamId: p.streamId },
        );
      }
    }
    const next = version + 1;
    const { truncateBefore: _, ...metadata } = p.metadata;
    const update = {
      metadata,
      truncateBefore: Math.max(truncateBefore ?? current, current),
      metadataVersion: next,
    };
    if (!(await writeMetadata(deps.client, p.streamId, state.meta, update, ctx))) return undefined;
    if (state.softDeleted) {
      deps.heads.forget(p.streamId);
      try {
        await deps.client.deleteStream(p.streamId, { expectedRevision: BigInt(state.version - 1) });
      } catch (err) {
        // An append re-created the stream in between: the metadata write stands, after the deletion.
        if (!isRace(err, ctx)) throw mapError(err, ctx);
      }
    }
    return { metadataVersion: next };
  });
}

/**
 * Makes what `$maxCount` and `$maxAge` hide permanent: for each stream with retention, `$tb` moves to its first
 * visible event (or past its last), so raising the retention later cannot show those events again and the server's
 * next scavenge removes them. The streams with metadata are found in $all (their `$metadata` events, filtered on the
 * server). Returns how many events it truncated; their data leaves the server's disk with the scavenge.
 */
export async function enforceRetention(deps: LifecycleDeps): Promise<RetentionResult> {
  const ctx: ErrorContext = { operation: 'enforceRetention' };
  const streams = new Set<string>();
  try {
    const sub = deps.client.subscribeToAll({
      fromPosition: START,
      filter: eventTypeFilter({ prefixes: ['$metadata'] }),
    });
    for await (const { resolved } of untilCaughtUp(sub)) {
      const name = resolved.event?.streamId;
      if (!name?.startsWith('$$')) continue;
      const id = name.slice(2);
      if (!isSystemEvent(id, '')) streams.add(id);
    }
  } catch (err) {
    throw mapError(err, ctx);
  }
  let removedEvents = 0;
  for (const streamId of streams) removedEvents += await enforceOne(deps, streamId);
  return { removedEvents };
}

async function enforceOne(deps: LifecycleDeps, streamId: string): Promise<number> {
  const ctx: ErrorContext = { operation: 'enforceRetention', streamId };
  return rounds(streamId, 'retention', async () => {
    let state: StreamState;
    try {
      state = await streamState(deps.client, streamId, ctx);
    } catch (err) {
      if (isEventStoreError(err, ErrorCodes.STREAM_DELETED)) return 0;
      throw err;
    }
    const { raw } = state.meta;
    if (state.softDeleted || (raw.$maxCount === undefined && raw.$maxAge === undefined)) return 0;
    const old = physicalTb(state.meta);
    const first = await firstVisibleRevision(deps.client, streamId, ctx);
    const tb = first ?? state.version;
    if (tb <= old) return 0;
    const update = {
      metadata: contractMetadata(state),
      truncateBefore: contractTruncateBefore(state),
      metadataVersion: kitOf(state.meta).metadataVersion ?? 0,
      physical: tb,
    };
    return (await writeMetadata(deps.client, streamId, state.meta, update, ctx)) ? tb - old : undefined;
  });
}

async function firstVisibleRevision(
  client: EventStoreDBClient,
  streamId: string,
  ctx: ErrorContext,
): Promise<number | undefined> {
  let first: number | undefined;
  try {
    for await (const { event } of client.readStream(streamId, {
      direction: FORWARDS,
      fromRevision: START,
      maxCount: 1,
    })) {
      first = Number(event!.revision);
    }
  } catch (err) {
    if (!(err instanceof StreamNotFoundError)) throw mapError(err, ctx);
  }
  return first;
}
