import {
  BACKWARDS,
  END,
  type EventStoreDBClient,
  jsonEvent,
  StreamNotFoundError,
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
