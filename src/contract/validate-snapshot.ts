import { EventTooLargeError, InvalidArgumentError } from './errors.js';
import type { Capabilities, JsonValue } from './types.js';
import { assertJson, readOptions, show, validateStreamId } from './validate.js';

/**
 * What a snapshot takes beside its state's JSON when its size is checked against `capabilities.maxEventBytes`: room
 * for its version, schema version and the field names or type an adapter stores them under. A snapshot is stored
 * like one event, so an adapter that holds an event of `maxEventBytes` holds any snapshot that passes this check.
 */
export const SNAPSHOT_OVERHEAD_BYTES = 256;

/** A validated `snapshots.save`: the state serialised once. */
export interface PreparedSnapshot {
  streamId: string;
  state: JsonValue;
  /** `JSON.stringify(state)`. */
  stateJson: string;
  version: number;
  schemaVersion: number;
}

function positive(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new InvalidArgumentError(`${name} must be an integer of at least 1, got ${show(value)}`, {
      argument: name,
    });
  }
  return value;
}

/** Validates `snapshots.save`'s arguments against the contract and the adapter's `maxEventBytes`. */
export function prepareSnapshot(
  streamId: unknown,
  snapshot: unknown,
  capabilities: Pick<Capabilities, 'maxEventBytes'>,
): PreparedSnapshot {
  const id = validateStreamId(streamId);
  if (snapshot === undefined) {
    throw new InvalidArgumentError('snapshot is required', { argument: 'snapshot' });
  }
  const fields = readOptions(snapshot, ['state', 'version', 'schemaVersion'], 'snapshot');
  if (fields.state === undefined) {
    throw new InvalidArgumentError('snapshot.state is required', { argument: 'snapshot.state' });
  }
  assertJson(fields.state, 'snapshot.state');
  const version = positive(fields.version, 'snapshot.version');
  const schemaVersion = positive(fields.schemaVersion, 'snapshot.schemaVersion');
  let stateJson: string;
  try {
    stateJson = JSON.stringify(fields.state);
  } catch (err) {
    throw new InvalidArgumentError('snapshot.state has no JSON form', {
      argument: 'snapshot.state',
      cause: err,
    });
  }
  const bytes = Buffer.byteLength(stateJson, 'utf8') + SNAPSHOT_OVERHEAD_BYTES;
  if (bytes > capabilities.maxEventBytes) {
    throw new EventTooLargeError(id, 0, bytes, capabilities.maxEventBytes, { operation: 'saveSnapshot' });
  }
  return { streamId: id, state: fields.state as JsonValue, stateJson, version, schemaVersion };
}
