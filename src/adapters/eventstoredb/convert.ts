import type { ResolvedEvent } from '@eventstore/db-client';
import type { JsonObject, JsonValue, RecordedEvent } from '../../contract/index.js';
import { encodePosition } from './position.js';

function isPlainJsonObject(value: unknown): value is JsonObject {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)
  );
}

/** Converts a client event. Non-JSON data written by other tools comes back as its UTF-8 text. */
export function toRecorded(resolved: ResolvedEvent, position?: bigint): RecordedEvent {
  const e = resolved.event!;
  const data = e.data instanceof Uint8Array ? Buffer.from(e.data).toString('utf8') : e.data;
  return {
    id: e.id,
    streamId: e.streamId,
    type: e.type,
    data: data as JsonValue,
    metadata: isPlainJsonObject(e.metadata) ? e.metadata : {},
    version: Number(e.revision) + 1,
    position: position ?? encodePosition(e.position!),
    createdAt: e.created,
  };
}
