import { randomUUID } from 'node:crypto';
import { AppendTooLargeError, EventTooLargeError, InvalidArgumentError } from './errors.js';
import type {
  AppendOptions,
  Capabilities,
  ExpectedVersion,
  JsonObject,
  JsonValue,
  ReadAllOptions,
  ReadDirection,
  ReadStreamOptions,
} from './types.js';

/** The longest stream id the contract accepts, in UTF-16 code units. */
export const MAX_STREAM_ID_LENGTH = 255;

/** An event after validation: its id is set and lower-case, its JSON is serialised once for every adapter. */
export interface PreparedEvent {
  id: string;
  /** Whether the caller supplied the id (a retry can only be recognised by ids the caller chose). */
  idSupplied: boolean;
  type: string;
  data: JsonValue;
  metadata: JsonObject;
  /** `JSON.stringify(data)`. */
  dataJson: string;
  /** `JSON.stringify(metadata)`. */
  metadataJson: string;
  /** UTF-8 bytes of type + dataJson + metadataJson: what `maxEventBytes` is compared with. */
  bytes: number;
}

/** A validated append. `expectedVersion` is normalised: `'no_stream'` becomes 0. */
export interface PreparedAppend {
  streamId: string;
  events: PreparedEvent[];
  expectedVersion: 'any' | 'stream_exists' | number;
  /** What the caller passed, for error messages. */
  requestedExpectedVersion: ExpectedVersion;
  bytes: number;
}

export interface PreparedReadStream {
  streamId: string;
  direction: ReadDirection;
  /** Inclusive; `undefined` means "from the start" forwards or "from the end" backwards. */
  fromVersion: number | undefined;
  maxCount: number;
}

export interface PreparedReadAll {
  after: bigint;
  maxCount: number;
  eventTypes: string[] | undefined;
  streamPrefix: string | undefined;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// C0 controls, DEL and C1 controls.
// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

function invalid(message: string, argument: string): never {
  throw new InvalidArgumentError(message, { argument });
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** Checks a stream id: a non-empty string of at most 255 characters with no control characters. */
export function validateStreamId(streamId: unknown): string {
  if (typeof streamId !== 'string')
    invalid(`streamId must be a string, got ${describe(streamId)}`, 'streamId');
  if (streamId.length === 0) invalid('streamId must not be empty', 'streamId');
  if (streamId.length > MAX_STREAM_ID_LENGTH) {
    invalid(`streamId is ${streamId.length} characters, the limit is ${MAX_STREAM_ID_LENGTH}`, 'streamId');
  }
  if (CONTROL.test(streamId)) invalid('streamId must not contain control characters', 'streamId');
  if (!streamId.isWellFormed()) invalid('streamId has a lone surrogate', 'streamId');
  return streamId;
}

/** True for `{}`-literal-like objects: prototype `Object.prototype` or `null`. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Throws unless `value` survives JSON unchanged. Accepted: null, booleans, finite numbers, strings without lone
 * surrogates, arrays without holes, and plain objects (prototype Object.prototype or null) with string keys.
 * Rejected: undefined, functions, symbols, BigInt, NaN/±Infinity, cycles, symbol keys, accessors, and class
 * instances (Date, Map, Buffer, custom classes …), since JSON would turn them into something else. Convert them
 * yourself (e.g. `date.toISOString()`).
 */
export function assertJson(value: unknown, path: string, seen: Set<object> = new Set()): void {
  switch (typeof value) {
    case 'string':
      if (!value.isWellFormed()) invalid(`${path} has a string with a lone surrogate`, path);
      return;
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) invalid(`${path} is ${value}, which JSON cannot represent`, path);
      return;
    case 'object': {
      if (value === null) return;
      if (seen.has(value)) invalid(`${path} contains a cycle`, path);
      if (Array.isArray(value)) {
        seen.add(value);
        for (let i = 0; i < value.length; i++) {
          if (!(i in value)) invalid(`${path}[${i}] is a hole in a sparse array`, `${path}[${i}]`);
          assertJson(value[i], `${path}[${i}]`, seen);
        }
        seen.delete(value);
        return;
      }
      if (!isPlainObject(value)) {
        const name = (value as object).constructor?.name ?? 'unknown';
        invalid(`${path} is an instance of ${name}; only plain objects survive JSON unchanged`, path);
      }
      if (Object.getOwnPropertySymbols(value).length > 0) invalid(`${path} has symbol keys`, path);
      seen.add(value);
      for (const key of Object.keys(value)) {
        const desc = Object.getOwnPropertyDescriptor(value, key);
        if (desc && !('value' in desc)) invalid(`${path}.${key} is an accessor property`, `${path}.${key}`);
        assertJson(desc?.value, `${path}.${key}`, seen);
      }
      seen.delete(value);
      return;
    }
    default:
      invalid(`${path} is ${describe(value)}, which JSON cannot represent`, path);
  }
}

function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** Validates one event and prepares it (id, serialised JSON, size). */
export function prepareEvent(event: unknown, index: number): PreparedEvent {
  const at = `events[${index}]`;
  if (!isPlainObject(event)) invalid(`${at} must be a plain object, got ${describe(event)}`, at);
  for (const key of Object.keys(event)) {
    if (key !== 'type' && key !== 'data' && key !== 'metadata' && key !== 'id') {
      invalid(`${at} has an unknown field '${key}'`, `${at}.${key}`);
    }
  }
  const { type, data, metadata, id } = event as Record<string, unknown>;
  if (typeof type !== 'string') invalid(`${at}.type must be a string, got ${describe(type)}`, `${at}.type`);
  if (type.length === 0) invalid(`${at}.type must not be empty`, `${at}.type`);
  if (CONTROL.test(type)) invalid(`${at}.type must not contain control characters`, `${at}.type`);
  if (!('data' in event) || data === undefined) invalid(`${at}.data is required`, `${at}.data`);
  assertJson(data, `${at}.data`);
  let meta: JsonObject = {};
  if (metadata !== undefined) {
    if (!isPlainObject(metadata)) invalid(`${at}.metadata must be a plain object`, `${at}.metadata`);
    assertJson(metadata, `${at}.metadata`);
    meta = metadata as JsonObject;
  }
  let eventId: string;
  if (id === undefined) {
    eventId = randomUUID();
  } else {
    if (typeof id !== 'string' || !UUID.test(id)) invalid(`${at}.id must be a UUID`, `${at}.id`);
    eventId = id.toLowerCase();
  }
  const dataJson = JSON.stringify(data);
  const metadataJson = JSON.stringify(meta);
  const bytes = utf8Length(type) + utf8Length(dataJson) + utf8Length(metadataJson);
  return {
    id: eventId,
    idSupplied: id !== undefined,
    type,
    data: data as JsonValue,
    metadata: meta,
    dataJson,
    metadataJson,
    bytes,
  };
}

/** Validates an expected version and normalises `'no_stream'` to 0. */
export function normalizeExpectedVersion(expected: unknown): 'any' | 'stream_exists' | number {
  if (expected === undefined || expected === 'any') return 'any';
  if (expected === 'no_stream') return 0;
  if (expected === 'stream_exists') return 'stream_exists';
  if (typeof expected === 'number') {
    if (!Number.isSafeInteger(expected) || expected < 0) {
      invalid(`expectedVersion must be a non-negative integer, got ${expected}`, 'expectedVersion');
    }
    return expected;
  }
  return invalid(
    `expectedVersion must be 'any', 'no_stream', 'stream_exists' or a non-negative integer, got ${describe(expected)}`,
    'expectedVersion',
  );
}

function assertOptionKeys(
  options: unknown,
  allowed: readonly string[],
  name: string,
): Record<string, unknown> {
  if (options === undefined) return {};
  if (!isPlainObject(options)) invalid(`${name} must be an object, got ${describe(options)}`, name);
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) invalid(`${name} has an unknown option '${key}'`, `${name}.${key}`);
  }
  return options;
}

/**
 * Validates an append against the contract and the adapter's limits. Every adapter calls this first, so bad
 * input never reaches a backend.
 */
export function prepareAppend(
  streamId: unknown,
  events: unknown,
  options: AppendOptions | undefined,
  capabilities: Capabilities,
): PreparedAppend {
  const id = validateStreamId(streamId);
  const opts = assertOptionKeys(options, ['expectedVersion'], 'options');
  const expectedVersion = normalizeExpectedVersion(opts.expectedVersion);
  if (!Array.isArray(events)) invalid(`events must be an array, got ${describe(events)}`, 'events');
  if (events.length > capabilities.maxEventsPerAppend) {
    throw new AppendTooLargeError(
      id,
      events.length,
      0,
      `maxEventsPerAppend ${capabilities.maxEventsPerAppend}`,
    );
  }
  const prepared: PreparedEvent[] = new Array(events.length);
  const ids = new Set<string>();
  let bytes = 0;
  for (let i = 0; i < events.length; i++) {
    const e = prepareEvent(events[i], i);
    if (ids.has(e.id)) invalid(`events[${i}].id ${e.id} appears twice in the batch`, `events[${i}].id`);
    ids.add(e.id);
    if (e.bytes > capabilities.maxEventBytes)
      throw new EventTooLargeError(id, i, e.bytes, capabilities.maxEventBytes);
    bytes += e.bytes;
    prepared[i] = e;
  }
  if (bytes > capabilities.maxAppendBytes) {
    throw new AppendTooLargeError(id, events.length, bytes, `maxAppendBytes ${capabilities.maxAppendBytes}`);
  }
  return {
    streamId: id,
    events: prepared,
    expectedVersion,
    requestedExpectedVersion: (opts.expectedVersion as ExpectedVersion | undefined) ?? 'any',
    bytes,
  };
}

function count(value: unknown, name: string): number {
  if (value === undefined) return Number.POSITIVE_INFINITY;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    invalid(`${name} must be a non-negative integer, got ${String(value)}`, name);
  }
  return value;
}

/** Validates readStream's arguments. */
export function prepareReadStream(
  streamId: unknown,
  options: ReadStreamOptions | undefined,
): PreparedReadStream {
  const id = validateStreamId(streamId);
  const opts = assertOptionKeys(options, ['fromVersion', 'direction', 'maxCount'], 'options');
  const direction = opts.direction ?? 'forwards';
  if (direction !== 'forwards' && direction !== 'backwards') {
    invalid(`direction must be 'forwards' or 'backwards', got ${String(direction)}`, 'direction');
  }
  let fromVersion: number | undefined;
  if (opts.fromVersion !== undefined) {
    const v = opts.fromVersion;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      invalid(`fromVersion must be a non-negative integer, got ${String(v)}`, 'fromVersion');
    }
    fromVersion = v;
  }
  return { streamId: id, direction, fromVersion, maxCount: count(opts.maxCount, 'maxCount') };
}

/** Validates readAll's options. */
export function prepareReadAll(options: ReadAllOptions | undefined): PreparedReadAll {
  const opts = assertOptionKeys(options, ['after', 'maxCount', 'filter'], 'options');
  let after = 0n;
  if (opts.after !== undefined) {
    if (typeof opts.after !== 'bigint' || opts.after < 0n) {
      invalid(`after must be a non-negative bigint position, got ${describe(opts.after)}`, 'after');
    }
    after = opts.after;
  }
  const filter = assertOptionKeys(opts.filter, ['eventTypes', 'streamPrefix'], 'filter');
  let eventTypes: string[] | undefined;
  if (filter.eventTypes !== undefined) {
    const types = filter.eventTypes;
    if (!Array.isArray(types) || types.some((t) => typeof t !== 'string' || t.length === 0)) {
      invalid('filter.eventTypes must be an array of non-empty strings', 'filter.eventTypes');
    }
    if (types.length === 0)
      invalid('filter.eventTypes must not be empty; omit it to read every type', 'filter.eventTypes');
    eventTypes = [...new Set(types as string[])];
  }
  let streamPrefix: string | undefined;
  if (filter.streamPrefix !== undefined) {
    if (typeof filter.streamPrefix !== 'string')
      invalid('filter.streamPrefix must be a string', 'filter.streamPrefix');
    if (CONTROL.test(filter.streamPrefix)) {
      invalid('filter.streamPrefix must not contain control characters', 'filter.streamPrefix');
    }
    streamPrefix = filter.streamPrefix === '' ? undefined : filter.streamPrefix;
  }
  return { after, maxCount: count(opts.maxCount, 'maxCount'), eventTypes, streamPrefix };
}
