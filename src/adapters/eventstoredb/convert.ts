import type { ResolvedEvent } from '@eventstore/db-client';
import type { JsonObject, JsonValue, RecordedEvent } from '../../contract/index.js';
import { encodePosition } from './position.js';

function isPlainJsonObject(value: unknown): value is JsonObject {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)
  );
}

/**
 * The metadata key that holds an imported event's recorded time (`preserveCreatedAt`): the server stamps every event
 * with its own `created`, so the original travels in the metadata, as an ISO-8601 string, and reads move it back to
 * `createdAt`. A `$` prefix, like KurrentDB's own metadata keys (`$correlationId`), marks it as the store's.
 */
export const CREATED_AT_KEY = '$createdAt';

/** An import's metadata JSON with its recorded time as the first key. */
export function withImportedCreatedAt(metadataJson: string, createdAt: number): string {
  const entry = `${JSON.stringify(CREATED_AT_KEY)}:${JSON.stringify(new Date(createdAt).toISOString())}`;
  return metadataJson === '{}' ? `{${entry}}` : `{${entry},${metadataJson.slice(1)}`;
}

/**
 * Splits the recorded time out of an event's metadata: the value of {@link CREATED_AT_KEY} when it is a canonical
 * ISO-8601 time (what {@link withImportedCreatedAt} writes), else the server's `created`.
 */
function splitCreatedAt(metadata: JsonObject, created: Date): { metadata: JsonObject; createdAt: Date } {
  const value = metadata[CREATED_AT_KEY];
  if (typeof value !== 'string') return { metadata, createdAt: created };
  const time = new Date(value);
  if (Number.isNaN(time.getTime()) || time.toISOString() !== value) return { metadata, createdAt: created };
  const { [CREATED_AT_KEY]: _, ...rest } = metadata;
  return { metadata: rest, createdAt: time };
}

/** Converts a client event. Non-JSON data written by other tools comes back as its UTF-8 text. */
export function toRecorded(resolved: ResolvedEvent, position?: bigint): RecordedEvent {
  const e = resolved.event!;
  const data = e.data instanceof Uint8Array ? Buffer.from(e.data).toString('utf8') : e.data;
  const { metadata, createdAt } = splitCreatedAt(isPlainJsonObject(e.metadata) ? e.metadata : {}, e.created);
  return {
    id: e.id,
    streamId: e.streamId,
    type: e.type,
    data: data as JsonValue,
    metadata,
    version: Number(e.revision) + 1,
    position: position ?? encodePosition(e.position!),
    createdAt,
  };
}
