import {
  ErrorCodes,
  EventStoreError,
  type ExpectedVersion,
  isEventStoreError,
  WrongExpectedVersionError,
} from '../../contract/index.js';

/** What the failed operation was, so that a conflict can name its stream and expected version. */
export interface ErrorContext {
  operation: 'append' | 'readStream' | 'readAll' | 'streamVersion' | 'migrate' | 'connect';
  streamId?: string;
  expectedVersion?: ExpectedVersion;
}

/** Node socket errors that mean the server could not be reached or the connection broke. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
]);

/** node-postgres reports a broken connection with messages but no code. */
const NETWORK_MESSAGES =
  /connection terminated|connection (?:is )?closed|client has encountered a connection error|not queryable/i;

/**
 * node-postgres's own deadlines, also without a code: `query_timeout` ("Query read timeout"), and
 * `connectionTimeoutMillis` while connecting ("Connection terminated due to connection timeout", or "timeout
 * expired" from a bare client) or while waiting for a pooled connection ("timeout exceeded when trying to connect").
 */
export const CLIENT_TIMEOUT_MESSAGES =
  /^(?:query read timeout|connection terminated due to connection timeout|timeout expired|timeout exceeded when trying to connect)$/i;

function fieldOf(err: unknown, name: string): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const value = (err as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

/** Removes anything that looks like credentials in a URL (`scheme://user:secret@`), in case a driver echoes one. */
export function redact(text: string): string {
  return text
    .replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi, '$1***@')
    .replace(/password=\S+/gi, 'password=***');
}

function pgMessage(err: unknown): string {
  return redact(fieldOf(err, 'message') ?? String(err));
}

/**
 * Turns a PostgreSQL/PGlite/node-postgres error into a contract error, keeping the original as `cause`.
 *
 * - `23505` unique violation, `40001` serialization failure, `40P01` deadlock during an append: a concurrent
 *   writer got there first, so `WRONG_EXPECTED_VERSION` (nothing was written).
 * - connection class `08…`, server shutdown `57P01/02/03`, too many connections `53300`, authentication `28…`,
 *   socket errors: `UNAVAILABLE` (for an append the outcome may be unknown; retry with the same event ids).
 * - `57014` statement timeout or cancel, and node-postgres's own connect and query deadlines: `TIMEOUT`.
 * - missing schema objects (`42P01`, `3F000`, `42883`): `BACKEND_ERROR` that says to create the schema.
 * - anything else: `BACKEND_ERROR`.
 *
 * Messages never contain the connection string or password: the URL is never passed to the driver as a string,
 * and driver messages go through {@link redact}.
 */
export function mapError(err: unknown, ctx: ErrorContext): EventStoreError {
  if (isEventStoreError(err)) return err as EventStoreError;
  const sqlState = fieldOf(err, 'code');
  const streamId = ctx.streamId;
  if (
    ctx.operation === 'append' &&
    streamId !== undefined &&
    (sqlState === '23505' || sqlState === '40001' || sqlState === '40P01')
  ) {
    const reason =
      sqlState === '23505'
        ? 'a concurrent append wrote the same version'
        : sqlState === '40001'
          ? 'serialization failure'
          : 'deadlock';
    return new WrongExpectedVersionError(streamId, ctx.expectedVersion ?? 'any', undefined, {
      cause: err,
      reason,
    });
  }
  const where = `PostgreSQL ${ctx.operation}`;
  if (CLIENT_TIMEOUT_MESSAGES.test(fieldOf(err, 'message') ?? '')) {
    return new EventStoreError(
      ErrorCodes.TIMEOUT,
      `${where} timed out (${pgMessage(err)}); ${
        ctx.operation === 'append'
          ? 'the append may or may not have been applied: retry it with the same event ids'
          : 'retry it'
      }`,
      { cause: err, streamId },
    );
  }
  if (
    (sqlState !== undefined &&
      (sqlState.startsWith('08') ||
        sqlState.startsWith('28') ||
        sqlState === '57P01' ||
        sqlState === '57P02' ||
        sqlState === '57P03' ||
        sqlState === '53300' ||
        NETWORK_CODES.has(sqlState))) ||
    NETWORK_MESSAGES.test(fieldOf(err, 'message') ?? '')
  ) {
    return new EventStoreError(
      ErrorCodes.UNAVAILABLE,
      `${where} failed: the server is unavailable or dropped the connection (${sqlState ?? 'no code'}: ${pgMessage(err)})`,
      { cause: err, streamId },
    );
  }
  if (sqlState === '57014') {
    return new EventStoreError(ErrorCodes.TIMEOUT, `${where} timed out: ${pgMessage(err)}`, {
      cause: err,
      streamId,
    });
  }
  if (sqlState === '42P01' || sqlState === '3F000' || sqlState === '42883') {
    return new EventStoreError(
      ErrorCodes.BACKEND_ERROR,
      `${where} failed: the event store schema is missing or incomplete; open the store with autoCreate ` +
        `(the default) once to create it (${sqlState}: ${pgMessage(err)})`,
      { cause: err, streamId },
    );
  }
  return new EventStoreError(
    ErrorCodes.BACKEND_ERROR,
    `${where} failed (${sqlState ?? 'no code'}): ${pgMessage(err)}`,
    { cause: err, streamId },
  );
}
