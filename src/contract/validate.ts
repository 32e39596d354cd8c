import { randomUUID } from 'node:crypto';
import {
  AppendTooLargeError,
  EventTooLargeError,
  InvalidArgumentError,
  isEventStoreError,
} from './errors.js';
import { assertJson, isPlainObject, segment } from './json.js';
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

/**
 * The longest event type, in UTF-8 bytes, of an adapter that declares no `capabilities.maxEventTypeBytes`, and what
 * PostgreSQL, DynamoDB and memory declare:
 * well inside what PostgreSQL can index (a btree entry holds about 2,700 bytes, and the type is indexed), and what
 * DynamoDB and EventStoreDB store. Bytes rather than characters, because that is what the backends count.
 */
export const MAX_EVENT_TYPE_BYTES = 1024;

export { assertJson, isPlainObject, MAX_JSON_DEPTH } from './json.js';

/**
 * 2^63 − 1, what a signed 64-bit column holds: the `capabilities.maxPosition` of the adapters whose positions are
 * 64-bit integers (PostgreSQL, DynamoDB, memory), and of an adapter that declares none.
 */
export const MAX_POSITION_INT64 = 2n ** 63n - 1n;

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
  /**
   * The recorded time to keep, in ms since the epoch, for an append with `preserveCreatedAt`; `undefined` when the
   * store stamps the event with its own clock.
   */
  createdAt?: number;
}

/** A validated append. `expectedVersion` is normalised: `'no_stream'` becomes 0. */
export interface PreparedAppend {
  streamId: string;
  events: PreparedEvent[];
  expectedVersion: 'any' | 'stream_exists' | number;
  /** What the caller passed, for error messages. */
  requestedExpectedVersion: ExpectedVersion;
  bytes: number;
  /**
   * An import that starts the stream at this version (`options.firstVersion`); `expectedVersion` is then
   * `firstVersion − 1`. A stream at version 0 moves to `firstVersion − 1` (versions below it gone as by a
   * truncation) in the same atomic step as the write. `undefined` for every other append.
   */
  firstVersion?: number;
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
// C0 controls (NUL included), DEL and C1 controls.
// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

function invalid(message: string, argument: string, cause?: unknown): never {
  throw new InvalidArgumentError(message, { argument, cause });
}

/**
 * Runs `read`, which touches a value the caller passed (a getter, a Proxy trap …). Whatever it throws that is not
 * a contract error becomes INVALID_ARGUMENT for `argument`, with the caller's error as `cause`: a caller's own
 * error or a TypeError from a revoked Proxy never escapes from validation.
 */
function reading<T>(argument: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (isEventStoreError(err)) throw err;
    const name = err instanceof Error ? err.name : typeof err;
    return invalid(`${argument} could not be read: it threw ${name} (see cause)`, argument, err);
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * Renders a rejected value for an error message without running the caller's code: primitives as themselves
 * (strings quoted and cut at 40 characters), anything else by its kind. `String(value)` would call a caller's
 * `toString`, which may throw or may not exist (`Object.create(null)`).
 */
export function show(value: unknown): string {
  switch (typeof value) {
    case 'number':
    case 'bigint':
    case 'boolean':
    case 'undefined':
      return String(value);
    case 'string':
      return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
    case 'symbol':
      return 'a symbol';
    default:
      return describe(value);
  }
}

/**
 * Checks a name the backends store as text and index (a stream id, an event type, a filter on them): no control
 * characters (NUL included: PostgreSQL text cannot hold it) and no lone surrogate (it cannot be encoded as UTF-8,
 * so a backend would store something else).
 */
function checkName(value: string, argument: string): void {
  if (CONTROL.test(value)) invalid(`${argument} must not contain control characters`, argument);
  if (!value.isWellFormed()) invalid(`${argument} has a lone surrogate, which UTF-8 cannot encode`, argument);
}

/**
 * Checks a stream id: a non-empty string of at most {@link MAX_STREAM_ID_LENGTH} UTF-16 code units, with no
 * control characters (NUL included) and no lone surrogate.
 */
export function validateStreamId(streamId: unknown): string {
  if (typeof streamId !== 'string')
    invalid(`streamId must be a string, got ${describe(streamId)}`, 'streamId');
  if (streamId.length === 0) invalid('streamId must not be empty', 'streamId');
  if (streamId.length > MAX_STREAM_ID_LENGTH) {
    invalid(`streamId is ${streamId.length} characters, the limit is ${MAX_STREAM_ID_LENGTH}`, 'streamId');
  }
  checkName(streamId, 'streamId');
  return streamId;
}

/** `JSON.stringify` of a value {@link assertJson} accepted; a Proxy that changes its answers cannot make it throw. */
function stringify(value: unknown, argument: string): string {
  return reading(argument, () => {
    const text = JSON.stringify(value);
    if (typeof text !== 'string') invalid(`${argument} has no JSON form`, argument);
    return text;
  });
}

function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** The earliest and latest `createdAt` an import may keep: years 1 to 9999, which every backend stores exactly. */
const MIN_CREATED_AT = Date.parse('0001-01-01T00:00:00.000Z');
const MAX_CREATED_AT = Date.parse('9999-12-31T23:59:59.999Z');

/** Checks an imported event's `createdAt` and returns it in ms since the epoch. */
function checkCreatedAt(value: unknown, argument: string): number {
  if (!(value instanceof Date)) {
    invalid(`${argument} must be a Date (preserveCreatedAt is set), got ${describe(value)}`, argument);
  }
  const ms = reading(argument, () => Date.prototype.getTime.call(value));
  if (Number.isNaN(ms)) invalid(`${argument} is an invalid Date`, argument);
  if (ms < MIN_CREATED_AT || ms > MAX_CREATED_AT) {
    invalid(`${argument} must be from year 1 to year 9999`, argument);
  }
  return ms;
}

/**
 * Validates one event and prepares it (id, serialised JSON, size). With `preserveCreatedAt` the event must carry a
 * valid `createdAt`; without it, a `createdAt` field is `INVALID_ARGUMENT`.
 */
export function prepareEvent(
  event: unknown,
  index: number,
  capabilities: Pick<Capabilities, 'maxEventTypeBytes'> = {},
  preserveCreatedAt = false,
): PreparedEvent {
  const at = `events[${index}]`;
  const fields = reading(at, () => {
    if (!isPlainObject(event)) invalid(`${at} must be a plain object, got ${describe(event)}`, at);
    for (const key of Object.keys(event)) {
      if (key === 'createdAt' && !preserveCreatedAt) {
        invalid(
          `${at}.createdAt is only accepted with options.preserveCreatedAt (an import of recorded events)`,
          `${at}.createdAt`,
        );
      }
      if (key !== 'type' && key !== 'data' && key !== 'metadata' && key !== 'id' && key !== 'createdAt') {
        invalid(`${at} has an unknown field ${JSON.stringify(key)}`, `${at}${segment(key)}`);
      }
    }
    return event;
  });
  const type = reading(`${at}.type`, () => fields.type);
  const hasData = reading(`${at}.data`, () => 'data' in fields);
  const data = reading(`${at}.data`, () => fields.data);
  const metadata = reading(`${at}.metadata`, () => fields.metadata);
  const id = reading(`${at}.id`, () => fields.id);
  const createdAt = preserveCreatedAt
    ? checkCreatedAt(
        reading(`${at}.createdAt`, () => fields.createdAt),
        `${at}.createdAt`,
      )
    : undefined;
  if (typeof type !== 'string') invalid(`${at}.type must be a string, got ${describe(type)}`, `${at}.type`);
  if (type.length === 0) invalid(`${at}.type must not be empty`, `${at}.type`);
  checkName(type, `${at}.type`);
  const typeBytes = utf8Length(type);
  const maxTypeBytes = capabilities.maxEventTypeBytes ?? MAX_EVENT_TYPE_BYTES;
  if (typeBytes > maxTypeBytes) {
    invalid(
      `${at}.type is ${typeBytes} bytes in UTF-8, the limit (capabilities.maxEventTypeBytes) is ${maxTypeBytes}`,
      `${at}.type`,
    );
  }
  if (!hasData || data === undefined) invalid(`${at}.data is required`, `${at}.data`);
  assertJson(data, `${at}.data`);
  let meta: JsonObject = {};
  if (metadata !== undefined) {
    if (!reading(`${at}.metadata`, () => isPlainObject(metadata))) {
      invalid(`${at}.metadata must be a plain object`, `${at}.metadata`);
    }
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
  const dataJson = stringify(data, `${at}.data`);
  const metadataJson = stringify(meta, `${at}.metadata`);
  const bytes = typeBytes + utf8Length(dataJson) + utf8Length(metadataJson);
  return {
    id: eventId,
    idSupplied: id !== undefined,
    type,
    data: data as JsonValue,
    metadata: meta,
    dataJson,
    metadataJson,
    bytes,
    ...(createdAt === undefined ? {} : { createdAt }),
  };
}

/** Validates an expected version and normalises `'no_stream'` to 0. */
export function normalizeExpectedVersion(expected: unknown): 'any' | 'stream_exists' | number {
  if (expected === undefined || expected === 'any') return 'any';
  if (expected === 'no_stream') return 0;
  if (expected === 'stream_exists') return 'stream_exists';
  if (typeof expected === 'number') {
    if (!Number.isSafeInteger(expected) || expected < 0) {
      invalid(`expectedVersion must be a non-negative integer, got ${expected}`, 'options.expectedVersion');
    }
    return expected;
  }
  return invalid(
    `expectedVersion must be 'any', 'no_stream', 'stream_exists' or a non-negative integer, got ${describe(expected)}`,
    'options.expectedVersion',
  );
}

/**
 * Checks an options object (undefined, or a plain object with only `allowed` keys) and returns a snapshot of its
 * values, each read once: a getter is called at most once, and a throwing getter or Proxy is INVALID_ARGUMENT.
 */
export function readOptions(
  options: unknown,
  allowed: readonly string[],
  name: string,
): Record<string, unknown> {
  if (options === undefined) return {};
  const keys = reading(name, () => {
    if (!isPlainObject(options)) invalid(`${name} must be an object, got ${describe(options)}`, name);
    return Object.keys(options);
  });
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    if (!allowed.includes(key))
      invalid(`${name} has an unknown option ${JSON.stringify(key)}`, `${name}${segment(key)}`);
    out[key] = reading(`${name}${segment(key)}`, () => (options as Record<string, unknown>)[key]);
  }
  return out;
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
  const opts = readOptions(options, ['expectedVersion', 'preserveCreatedAt', 'firstVersion'], 'options');
  let expectedVersion = normalizeExpectedVersion(opts.expectedVersion);
  const preserveCreatedAt = opts.preserveCreatedAt ?? false;
  if (typeof preserveCreatedAt !== 'boolean') {
    invalid(
      `preserveCreatedAt must be a boolean, got ${describe(preserveCreatedAt)}`,
      'options.preserveCreatedAt',
    );
  }
  const list = reading('events', () => {
    if (!Array.isArray(events)) invalid(`events must be an array, got ${describe(events)}`, 'events');
    return events as unknown[];
  });
  const length = reading('events', () => list.length);
  const firstVersion = opts.firstVersion;
  if (firstVersion !== undefined) {
    const given = opts.expectedVersion === undefined ? undefined : expectedVersion;
    expectedVersion = checkFirstVersion(firstVersion, given, preserveCreatedAt, length);
  }
  if (length > capabilities.maxEventsPerAppend) {
    throw new AppendTooLargeError(id, length, 0, `maxEventsPerAppend ${capabilities.maxEventsPerAppend}`);
  }
  const prepared: PreparedEvent[] = new Array(length);
  const ids = new Set<string>();
  let bytes = 0;
  for (let i = 0; i < length; i++) {
    const e = prepareEvent(
      reading(`events[${i}]`, () => list[i]),
      i,
      capabilities,
      preserveCreatedAt,
    );
    if (ids.has(e.id)) invalid(`events[${i}].id ${e.id} appears twice in the batch`, `events[${i}].id`);
    ids.add(e.id);
    if (e.bytes > capabilities.maxEventBytes)
      throw new EventTooLargeError(id, i, e.bytes, capabilities.maxEventBytes);
    bytes += e.bytes;
    prepared[i] = e;
  }
  if (bytes > capabilities.maxAppendBytes) {
    throw new AppendTooLargeError(id, length, bytes, `maxAppendBytes ${capabilities.maxAppendBytes}`);
  }
  return {
    streamId: id,
    events: prepared,
    expectedVersion,
    requestedExpectedVersion:
      (opts.expectedVersion as ExpectedVersion | undefined) ??
      (firstVersion === undefined ? 'any' : expectedVersion),
    bytes,
    ...(firstVersion === undefined ? {} : { firstVersion: firstVersion as number }),
  };
}

/** Checks `options.firstVersion` (an import past version 1) and returns the expected version it implies. */
function checkFirstVersion(
  value: unknown,
  expected: PreparedAppend['expectedVersion'] | undefined,
  preserveCreatedAt: boolean,
  length: number,
): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    invalid(`firstVersion must be an integer of at least 1, got ${show(value)}`, 'options.firstVersion');
  }
  if (!preserveCreatedAt) {
    invalid('firstVersion is only accepted with preserveCreatedAt: true (an import)', 'options.firstVersion');
  }
  if (expected !== undefined && expected !== value - 1) {
    invalid(
      `expectedVersion must be omitted or firstVersion - 1 (${value - 1}) with firstVersion ${value}, got ${show(expected)}`,
      'options.expectedVersion',
    );
  }
  if (length === 0) invalid('firstVersion needs at least one event to start the stream with', 'events');
  return value - 1;
}

function count(value: unknown, name: string): number {
  if (value === undefined) return Number.POSITIVE_INFINITY;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    invalid(`${name} must be a non-negative integer, got ${show(value)}`, name);
  }
  return value;
}

/** Validates readStream's arguments. */
export function prepareReadStream(
  streamId: unknown,
  options: ReadStreamOptions | undefined,
): PreparedReadStream {
  const id = validateStreamId(streamId);
  const opts = readOptions(options, ['fromVersion', 'direction', 'maxCount'], 'options');
  const direction = opts.direction ?? 'forwards';
  if (direction !== 'forwards' && direction !== 'backwards') {
    invalid(`direction must be 'forwards' or 'backwards', got ${show(direction)}`, 'options.direction');
  }
  let fromVersion: number | undefined;
  if (opts.fromVersion !== undefined) {
    const v = opts.fromVersion;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      invalid(`fromVersion must be a non-negative integer, got ${show(v)}`, 'options.fromVersion');
    }
    fromVersion = v;
  }
  return { streamId: id, direction, fromVersion, maxCount: count(opts.maxCount, 'options.maxCount') };
}

/** Validates readAll's options; `after` may not pass the adapter's `maxPosition` (absent: `MAX_POSITION_INT64`). */
export function prepareReadAll(
  options: ReadAllOptions | undefined,
  capabilities: Pick<Capabilities, 'maxPosition'>,
): PreparedReadAll {
  const opts = readOptions(options, ['after', 'maxCount', 'filter'], 'options');
  const maxPosition = capabilities.maxPosition ?? MAX_POSITION_INT64;
  let after = 0n;
  if (opts.after !== undefined) {
    if (typeof opts.after !== 'bigint' || opts.after < 0n || opts.after > maxPosition) {
      invalid(
        `after must be a bigint position from 0n to ${maxPosition} (capabilities.maxPosition), got ${typeof opts.after === 'bigint' ? opts.after : describe(opts.after)}`,
        'options.after',
      );
    }
    after = opts.after;
  }
  const filter = readOptions(opts.filter, ['eventTypes', 'streamPrefix'], 'options.filter');
  let eventTypes: string[] | undefined;
  if (filter.eventTypes !== undefined) {
    const arg = 'options.filter.eventTypes';
    const types = reading(arg, () => {
      if (!Array.isArray(filter.eventTypes)) invalid(`${arg} must be an array of non-empty strings`, arg);
      return Array.from(filter.eventTypes as unknown[]);
    });
    if (types.length === 0) invalid(`${arg} must not be empty; omit it to read every type`, arg);
    types.forEach((t, i) => {
      if (typeof t !== 'string' || t.length === 0)
        invalid(`${arg} must be an array of non-empty strings`, `${arg}[${i}]`);
      checkName(t, `${arg}[${i}]`);
    });
    eventTypes = [...new Set(types as string[])];
  }
  let streamPrefix: string | undefined;
  if (filter.streamPrefix !== undefined) {
    const arg = 'options.filter.streamPrefix';
    if (typeof filter.streamPrefix !== 'string') invalid(`${arg} must be a string`, arg);
    checkName(filter.streamPrefix, arg);
    streamPrefix = filter.streamPrefix === '' ? undefined : filter.streamPrefix;
  }
  return { after, maxCount: count(opts.maxCount, 'options.maxCount'), eventTypes, streamPrefix };
}
