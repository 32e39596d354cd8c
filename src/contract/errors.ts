import type { ExpectedVersion } from './types.js';

/**
 * Every error code the kit raises. Codes are stable: they are part of the public contract and never
 * change meaning. Messages may change between releases; match on `code`, never on `message`.
 *
 * - `WRONG_EXPECTED_VERSION`: the stream was not at the version the append expected. Nothing was written.
 * - `INVALID_ARGUMENT`: the caller passed something the contract does not accept (bad stream id, event,
 *   option, URL …). Raised before anything is sent to the backend. `argument` names what was wrong.
 * - `EVENT_TOO_LARGE`: one event is larger than the adapter's `capabilities.maxEventBytes`. Nothing was written.
 * - `APPEND_TOO_LARGE`: the batch has more events than `capabilities.maxEventsPerAppend` or more bytes than
 *   `capabilities.maxAppendBytes` (or than the server accepts). Nothing was written.
 * - `STREAM_DELETED`: the stream was deleted (tombstoned) in a backend that keeps deletions.
 * - `UNAUTHORIZED`: the backend refused the credentials (wrong password, unknown or expired key, bad
 *   signature, no credentials found) or refused the permission the operation needs (a role without
 *   `CREATE` on the schema, an IAM policy without `dynamodb:Query` …). A configuration error: retrying the same
 *   call does not help; fix the credentials or grants. Nothing was written.
 * - `UNAVAILABLE`: the backend could not be reached (connection refused, DNS name not found, no route), dropped
 *   the connection, is shutting down, or stayed overloaded (throttled, too many connections) through the
 *   adapter's bounded retries. Worth retrying later. For an append the outcome may be unknown: retry it with the
 *   same event ids, and the idempotency rules make the retry safe. Reads have no such doubt.
 * - `TIMEOUT`: a deadline passed before the backend answered (the adapter's or the driver's call deadline, a
 *   statement timeout). Same advice as `UNAVAILABLE`.
 * - `STORE_CLOSED`: the store was used after `close()`.
 * - `BACKEND_ERROR`: any other backend failure (a missing table or schema, a server-side bug …). The backend's
 *   own error is in `cause`.
 * - `NOT_SUPPORTED`: the adapter does not declare the capability the call needs (e.g. `capabilities.lifecycle`).
 *   Nothing was changed.
 * - `UPCAST_FAILED`: a stored event could not be brought to its type's current shape (a missing or failing
 *   upcaster, or an event written by newer code). Nothing stored changed; see `UpcastError`.
 *
 * ## Messages
 *
 * A contract error's message says, in contract terms, what failed: the backend, the operation (`append`,
 * `readAll` …), the stream when there is one, what the failure means, and for an append whose outcome is unknown
 * the advice to retry with the same event ids. It names the backend's reason only by its identifier (a
 * PostgreSQL SQLSTATE such as `28P01`, an AWS error name such as `ThrottlingException`, a gRPC status or client
 * error type such as `unavailable`, a socket error such as `ECONNREFUSED`), never by the backend's message text:
 * a driver's message can quote a connection string, a host with credentials, a request signature or a token.
 * The backend's own error stays in `cause`, for diagnosis. No message, context field or log line of the kit ever
 * holds a connection string, password, key or token.
 *
 * ## Context fields
 *
 * Every contract error may carry the fields that apply: `operation`, `streamId`, and on
 * the subclasses `expectedVersion`/`actualVersion` ({@link WrongExpectedVersionError}) and `argument`
 * ({@link InvalidArgumentError}). `argument` is the caller's name for the offending value as a path from the
 * method's parameters: `streamId`, `events[2].data.items[0]`, `options.expectedVersion`,
 * `options.filter.eventTypes[1]`, and for factories `url` or `options.autoCreate`.
 */
export const ErrorCodes = {
  WRONG_EXPECTED_VERSION: 'WRONG_EXPECTED_VERSION',
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  EVENT_TOO_LARGE: 'EVENT_TOO_LARGE',
  APPEND_TOO_LARGE: 'APPEND_TOO_LARGE',
  STREAM_DELETED: 'STREAM_DELETED',
  UNAUTHORIZED: 'UNAUTHORIZED',
  UNAVAILABLE: 'UNAVAILABLE',
  TIMEOUT: 'TIMEOUT',
  STORE_CLOSED: 'STORE_CLOSED',
  BACKEND_ERROR: 'BACKEND_ERROR',
  UPCAST_FAILED: 'UPCAST_FAILED',
  NOT_SUPPORTED: 'NOT_SUPPORTED',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/**
 * The contract operation a failure happened in. `'open'` covers everything a factory does before the store is
 * returned (connecting, checking or creating the schema or table); `'close'` is `close()`.
 */
export type Operation =
  | 'open'
  | 'append'
  | 'readStream'
  | 'readAll'
  | 'streamVersion'
  | 'deleteStream'
  | 'truncateStream'
  | 'getStreamMetadata'
  | 'setStreamMetadata'
  | 'enforceRetention'
  | 'saveSnapshot'
  | 'loadSnapshot'
  | 'subscribe'
  | 'checkpoints'
  | 'close';

/** Options shared by every contract error. */
export interface EventStoreErrorOptions {
  /** The backend's own error (or the caller's, for a value that threw while being read), kept for diagnosis. */
  cause?: unknown;
  /** The stream the failed operation targeted, when there was one. */
  streamId?: string;
  /** The contract operation that failed, when the error came from one. */
  operation?: Operation;
}

/**
 * Base class of every error the kit raises on purpose. `code` is stable; see {@link ErrorCodes}.
 *
 * Use {@link isEventStoreError} rather than `instanceof` when two copies of the package may be loaded.
 */
export class EventStoreError extends Error {
  readonly code: ErrorCode;
  readonly streamId: string | undefined;
  /** The contract operation that failed, when the error came from one. */
  readonly operation: Operation | undefined;

  constructor(code: ErrorCode, message: string, options: EventStoreErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EventStoreError';
    this.code = code;
    this.streamId = options.streamId;
    this.operation = options.operation;
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
    options: Omit<EventStoreErrorOptions, 'streamId'> & { reason?: string } = {},
  ) {
    const actual = actualVersion === undefined ? 'unknown' : String(actualVersion);
    super(
      ErrorCodes.WRONG_EXPECTED_VERSION,
      `Stream '${streamId}': expected version ${String(expectedVersion)}, actual version ${actual}` +
        (options.reason ? ` (${options.reason})` : ''),
      { cause: options.cause, streamId, operation: options.operation ?? 'append' },
    );
    this.name = 'WrongExpectedVersionError';
    this.streamId = streamId;
    this.expectedVersion = expectedVersion;
    this.actualVersion = actualVersion;
  }
}

/**
 * An argument the contract does not accept. Raised before anything is sent to the backend. When reading the
 * caller's value threw (a getter, a revoked Proxy), the caller's error is in `cause`.
 */
export class InvalidArgumentError extends EventStoreError {
  /**
   * The offending argument or field as a path from the method's parameters, e.g. `events[2].data`,
   * `options.filter.eventTypes[0]`, or for a factory `url` or `options.autoCreate`.
   */
  readonly argument: string | undefined;

  constructor(message: string, options: EventStoreErrorOptions & { argument?: string } = {}) {
    super(ErrorCodes.INVALID_ARGUMENT, message, options);
    this.name = 'InvalidArgumentError';
    this.argument = options.argument;
  }
}

/**
 * One event, or a snapshot (operation `saveSnapshot`, `eventIndex` 0), exceeds `capabilities.maxEventBytes`. Nothing
 * was written.
 */
export class EventTooLargeError extends EventStoreError {
  readonly eventIndex: number;
  readonly sizeBytes: number;
  readonly maxBytes: number;

  constructor(
    streamId: string,
    eventIndex: number,
    sizeBytes: number,
    maxBytes: number,
    options: Omit<EventStoreErrorOptions, 'streamId'> = {},
  ) {
    super(
      ErrorCodes.EVENT_TOO_LARGE,
      `Stream '${streamId}': ${options.operation === 'saveSnapshot' ? 'the snapshot' : `event ${eventIndex}`} is ${sizeBytes} bytes, the limit is ${maxBytes}`,
      { cause: options.cause, streamId, operation: options.operation ?? 'append' },
    );
    this.name = 'EventTooLargeError';
    this.eventIndex = eventIndex;
    this.sizeBytes = sizeBytes;
    this.maxBytes = maxBytes;
  }
}

/**
 * The batch exceeds `capabilities.maxEventsPerAppend` or `capabilities.maxAppendBytes`, or the server's own
 * limit (then the server's error is in `cause`). Nothing was written.
 */
export class AppendTooLargeError extends EventStoreError {
  readonly eventCount: number;
  readonly sizeBytes: number;

  constructor(
    streamId: string,
    eventCount: number,
    sizeBytes: number,
    limit: string,
    options: Omit<EventStoreErrorOptions, 'streamId'> = {},
  ) {
    super(
      ErrorCodes.APPEND_TOO_LARGE,
      `Stream '${streamId}': append of ${eventCount} events (${sizeBytes} bytes) exceeds ${limit}`,
      { cause: options.cause, streamId, operation: options.operation ?? 'append' },
    );
    this.name = 'AppendTooLargeError';
    this.eventCount = eventCount;
    this.sizeBytes = sizeBytes;
  }
}

/**
 * The backend refused the credentials or the permission the operation needs. Retrying does not help: fix the
 * configuration. The backend's error is in `cause`.
 */
export class UnauthorizedError extends EventStoreError {
  constructor(message: string, options: EventStoreErrorOptions = {}) {
    super(ErrorCodes.UNAUTHORIZED, message, options);
    this.name = 'UnauthorizedError';
  }
}

/** The stream was hard-deleted (tombstoned): it can never be read or written again. */
export class StreamDeletedError extends EventStoreError {
  override readonly streamId: string;

  constructor(streamId: string, options: { cause?: unknown } = {}) {
    super(ErrorCodes.STREAM_DELETED, `Stream '${streamId}' was deleted`, { cause: options.cause, streamId });
    this.name = 'StreamDeletedError';
    this.streamId = streamId;
  }
}

/** The adapter does not declare the capability a call needs. Nothing was changed. */
export class NotSupportedError extends EventStoreError {
  /** The capability the call needs, e.g. `lifecycle`. */
  readonly capability: string;

  constructor(operation: string, capability: string) {
    super(
      ErrorCodes.NOT_SUPPORTED,
      `${operation} needs capabilities.${capability}, which this adapter does not declare`,
    );
    this.name = 'NotSupportedError';
    this.capability = capability;
  }
}

/** The store was used after `close()`. */
export class StoreClosedError extends EventStoreError {
  constructor(options: EventStoreErrorOptions = {}) {
    super(ErrorCodes.STORE_CLOSED, 'The event store is closed', options);
    this.name = 'StoreClosedError';
  }
}

/**
 * A call's deadline passed before the backend answered: the store's own (`timeoutMs`), or one the backend or its
 * driver enforces (a statement timeout, a request deadline), which the adapter reports through the same class. For
 * an append the outcome is unknown: the events may or may not have been written, and a retry with the same event
 * ids is safe (the idempotency rules recognise it).
 */
export class TimeoutError extends EventStoreError {
  /** The operation that timed out, e.g. `append`. */
  override readonly operation: Operation;
  /**
   * The deadline the call had, in milliseconds, when the store set it; `undefined` when the backend's own deadline
   * passed.
   */
  readonly timeoutMs: number | undefined;

  /**
   * `message` replaces the default message (an adapter's mapped backend timeout says which backend request timed
   * out); without it the message names the operation, the stream and the deadline.
   */
  constructor(
    operation: Operation,
    timeoutMs: number | undefined,
    options: EventStoreErrorOptions & { message?: string } = {},
  ) {
    const { message, ...rest } = options;
    const stream = rest.streamId === undefined ? '' : `Stream '${rest.streamId}': `;
    const outcome =
      operation === 'append'
        ? '; the append may or may not have been applied: retry it with the same event ids'
        : '';
    const within = timeoutMs === undefined ? 'in time' : `within ${timeoutMs} ms`;
    super(ErrorCodes.TIMEOUT, message ?? `${stream}${operation} did not finish ${within}${outcome}`, {
      ...rest,
      operation,
    });
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
