import type { ExpectedVersion } from './types.js';

/**
 * Every error code the kit raises. Codes are stable: they are part of the public contract and never
 * change meaning. Messages may change between releases; match on `code`, never on `message`.
 *
 * - `WRONG_EXPECTED_VERSION`: the stream was not at the version the append expected. Nothing was written.
 * - `INVALID_ARGUMENT`: the caller passed something the contract does not accept (bad stream id, event,
 *   option, URL …). Raised before anything is written.
 * - `EVENT_TOO_LARGE`: one event is larger than the adapter's `capabilities.maxEventBytes`. Nothing was written.
 * - `APPEND_TOO_LARGE`: the batch has more events than `capabilities.maxEventsPerAppend` or more bytes than
 *   `capabilities.maxAppendBytes`. Nothing was written.
 * - `STREAM_DELETED`: the stream was deleted (tombstoned) in a backend that keeps deletions.
 * - `UNAVAILABLE`: the backend could not be reached or dropped the connection. For an append the outcome
 *   may be unknown: retry it with the same event ids, and the idempotency rules make the retry safe.
 * - `TIMEOUT`: a deadline passed before the backend answered. Same advice as `UNAVAILABLE`.
 * - `STORE_CLOSED`: the store was used after `close()`.
 * - `BACKEND_ERROR`: any other backend failure. The backend's own error is in `cause`.
 * - `UPCAST_FAILED`: a stored event could not be brought to its type's current shape (a missing or failing
 *   upcaster, or an event written by newer code). Nothing stored changed; see `UpcastError`.
 */
export const ErrorCodes = {
  WRONG_EXPECTED_VERSION: 'WRONG_EXPECTED_VERSION',
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  EVENT_TOO_LARGE: 'EVENT_TOO_LARGE',
  APPEND_TOO_LARGE: 'APPEND_TOO_LARGE',
  STREAM_DELETED: 'STREAM_DELETED',
  UNAVAILABLE: 'UNAVAILABLE',
  TIMEOUT: 'TIMEOUT',
  STORE_CLOSED: 'STORE_CLOSED',
  BACKEND_ERROR: 'BACKEND_ERROR',
  UPCAST_FAILED: 'UPCAST_FAILED',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** Options shared by every contract error. */
export interface EventStoreErrorOptions {
  /** The backend's own error, kept for diagnosis. Never contains credentials from the kit's side. */
  cause?: unknown;
  /** The stream the failed operation targeted, when there was one. */
  streamId?: string;
}

/**
 * Base class of every error the kit raises on purpose. `code` is stable; see {@link ErrorCodes}.
 *
 * Use {@link isEventStoreError} rather than `instanceof` when two copies of the package may be loaded.
 */
export class EventStoreError extends Error {
  readonly code: ErrorCode;
  readonly streamId: string | undefined;

  constructor(code: ErrorCode, message: string, options: EventStoreErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EventStoreError';
    this.code = code;
    this.streamId = options.streamId;
  }
}

/**
 * The stream was not at the expected version, or a retry's event ids did not match what was stored.
 * Nothing was written. `actualVersion` is the stream's version when the check failed (0 for no stream),
 * or `undefined` when the backend did not report it.
 */
export class WrongExpectedVersionError extends EventStoreError {
  readonly expectedVersion: ExpectedVersion;
  readonly actualVersion: number | undefined;
  override readonly streamId: string;

  constructor(
    streamId: string,
    expectedVersion: ExpectedVersion,
    actualVersion: number | undefined,
    options: { cause?: unknown; reason?: string } = {},
  ) {
    const actual = actualVersion === undefined ? 'unknown' : String(actualVersion);
    super(
      ErrorCodes.WRONG_EXPECTED_VERSION,
      `Stream '${streamId}': expected version ${String(expectedVersion)}, actual version ${actual}` +
        (options.reason ? ` (${options.reason})` : ''),
      { cause: options.cause, streamId },
    );
    this.name = 'WrongExpectedVersionError';
    this.streamId = streamId;
    this.expectedVersion = expectedVersion;
    this.actualVersion = actualVersion;
  }
}

/** An argument the contract does not accept. Raised before anything is written. */
export class InvalidArgumentError extends EventStoreError {
  /** The name of the offending argument or field, e.g. `events[2].data`. */
  readonly argument: string | undefined;

  constructor(message: string, options: EventStoreErrorOptions & { argument?: string } = {}) {
    super(ErrorCodes.INVALID_ARGUMENT, message, options);
    this.name = 'InvalidArgumentError';
    this.argument = options.argument;
  }
}

/** One event exceeds `capabilities.maxEventBytes`. Nothing was written. */
export class EventTooLargeError extends EventStoreError {
  readonly eventIndex: number;
  readonly sizeBytes: number;
  readonly maxBytes: number;

  constructor(streamId: string, eventIndex: number, sizeBytes: number, maxBytes: number) {
    super(
      ErrorCodes.EVENT_TOO_LARGE,
      `Stream '${streamId}': event ${eventIndex} is ${sizeBytes} bytes, the limit is ${maxBytes}`,
      { streamId },
    );
    this.name = 'EventTooLargeError';
    this.eventIndex = eventIndex;
    this.sizeBytes = sizeBytes;
    this.maxBytes = maxBytes;
  }
}

/** The batch exceeds `capabilities.maxEventsPerAppend` or `capabilities.maxAppendBytes`. Nothing was written. */
export class AppendTooLargeError extends EventStoreError {
  readonly eventCount: number;
  readonly sizeBytes: number;

  constructor(streamId: string, eventCount: number, sizeBytes: number, limit: string) {
    super(
      ErrorCodes.APPEND_TOO_LARGE,
      `Stream '${streamId}': append of ${eventCount} events (${sizeBytes} bytes) exceeds ${limit}`,
      { streamId },
    );
    this.name = 'AppendTooLargeError';
    this.eventCount = eventCount;
    this.sizeBytes = sizeBytes;
  }
}

/** The store was used after `close()`. */
export class StoreClosedError extends EventStoreError {
  constructor() {
    super(ErrorCodes.STORE_CLOSED, 'The event store is closed');
    this.name = 'StoreClosedError';
  }
}

/**
 * A call's deadline passed before the backend answered (see the store's `timeoutMs`). For an append the outcome is
 * unknown: the events may or may not have been written, and a retry with the same event ids is safe (the
 * idempotency rules recognise it).
 */
export class TimeoutError extends EventStoreError {
  /** The operation that timed out, e.g. `append`. */
  readonly operation: string;
  /** The deadline the call had, in milliseconds. */
  readonly timeoutMs: number;

  constructor(operation: string, timeoutMs: number, options: EventStoreErrorOptions = {}) {
    const stream = options.streamId === undefined ? '' : `Stream '${options.streamId}': `;
    const outcome =
      operation === 'append'
        ? '; the append may or may not have been applied: retry it with the same event ids'
        : '';
    super(
      ErrorCodes.TIMEOUT,
      `${stream}${operation} did not finish within ${timeoutMs} ms${outcome}`,
      options,
    );
    this.name = 'TimeoutError';
    this.operation = operation;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * True when `err` is a contract error (from any copy of this package), and, when `code` is given, when
 * its code is that one. Compares the `code` field, never the class identity.
 *
 * @example
 * if (isEventStoreError(err, 'WRONG_EXPECTED_VERSION')) { reloadAndRetry(); }
 */
export function isEventStoreError(err: unknown, code?: ErrorCode): err is EventStoreError {
  if (typeof err !== 'object' || err === null || !(err instanceof Error)) return false;
  const c = (err as { code?: unknown }).code;
  if (typeof c !== 'string' || !Object.hasOwn(ErrorCodes, c)) return false;
  return code === undefined || c === code;
}
