import {
  ANY,
  BACKWARDS,
  END,
  type EventStoreDBClient,
  jsonEvent,
  StreamDeletedError,
  StreamNotFoundError,
  WrongExpectedVersionError,
} from '@eventstore/db-client';
import type { PreparedSnapshot } from '../../adapter/index.js';
import {
  ErrorCodes,
  EventStoreError,
  isPlainObject,
  type JsonValue,
  type Snapshot,
} from '../../contract/index.js';
import { mapError } from './map-error.js';

/**
 * The prefix of the stream that holds a stream's snapshots: `$snapshot-<streamId>`. A `$` stream is a system stream,
 * so readAll (which skips system streams) never returns a snapshot, and no user stream written through the contract
 * is named so unless its id starts with `$snapshot-` (a reserved prefix on this adapter).
 */
export const SNAPSHOT_STREAM_PREFIX = '$snapshot-';

/** The type of a snapshot event. */
export const SNAPSHOT_EVENT_TYPE = 'Snapshot';

export function snapshotStream(streamId: string): string {
  return SNAPSHOT_STREAM_PREFIX + streamId;
}

/**
 * Removes a stream's snapshot when the stream is deleted: a soft delete soft-deletes the snapshot stream (a later
 * save recreates it), a hard delete tombstones it (the server then refuses saves and loads with StreamDeleted). The
 * server cannot delete two streams in one write, so the lifecycle orders them (lifecycle.ts): for a soft delete the
 * snapshot goes first (a crash in between loses only a cache), for a hard delete the stream goes first and a retried
 * hard delete tombstones the snapshot stream again.
 */
export async function forgetSnapshot(
  client: EventStoreDBClient,
  streamId: string,
  hard: boolean,
): Promise<void> {
  const stream = snapshotStream(streamId);
  try {
    if (hard) await client.tombstoneStream(stream, { expectedRevision: ANY });
    else await client.deleteStream(stream, { expectedRevision: ANY });
  } catch (err) {
    // Already tombstoned; or, for a soft delete, no snapshot was ever saved (the server refuses to soft-delete a
    // stream without events with WrongExpectedVersion).
    if (err instanceof StreamDeletedError) return;
    if (!hard && (err instanceof WrongExpectedVersionError || err instanceof StreamNotFoundError)) return;
    throw mapError(err, { operation: 'deleteStream', streamId });
  }
}

/**
 * Appends the snapshot to the stream's snapshot stream. The first save also sets that stream's `$maxCount` to 1, so
 * the server keeps only the newest snapshot (older ones are hidden at once and removed by the next scavenge).
 */
export async function saveSnapshot(client: EventStoreDBClient, p: PreparedSnapshot): Promise<void> {
  const stream = snapshotStream(p.streamId);
  const event = jsonEvent({
    type: SNAPSHOT_EVENT_TYPE,
    data: { version: p.version, schemaVersion: p.schemaVersion, state: JSON.parse(p.stateJson) as JsonValue },
  });
  try {
    const result = await client.appendToStream(stream, event);
    if (result.nextExpectedRevision === 0n) await client.setStreamMetadata(stream, { maxCount: 1 });
  } catch (err) {
    throw mapError(err, { operation: 'saveSnapshot', streamId: p.streamId });
  }
}

/** The last event of the snapshot stream, read backwards; `null` when the stream does not exist. */
export async function loadSnapshot(client: EventStoreDBClient, streamId: string): Promise<Snapshot | null> {
  let data: unknown;
  try {
    // Read to the end of the call (one event): an abandoned call never finishes (see _streamVersion).
    for await (const e of client.readStream(snapshotStream(streamId), {
      direction: BACKWARDS,
      fromRevision: END,
      maxCount: 1,
    })) {
      data = e.event?.data;
    }
  } catch (err) {
    if (err instanceof StreamNotFoundError) return null;
    throw mapError(err, { operation: 'loadSnapshot', streamId });
  }
  if (data === undefined) return null;
  if (
    !isPlainObject(data) ||
    !Number.isSafeInteger(data.version) ||
    !Number.isSafeInteger(data.schemaVersion) ||
    data.state === undefined
  ) {
    throw new EventStoreError(
      ErrorCodes.BACKEND_ERROR,
      `The snapshot stream of '${streamId}' holds an event that is not a snapshot`,
      { streamId, operation: 'loadSnapshot' },
    );
  }
  return {
    state: data.state as JsonValue,
    version: data.version as number,
    schemaVersion: data.schemaVersion as number,
  };
}
