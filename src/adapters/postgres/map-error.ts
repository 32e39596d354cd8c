import { backendError, type ErrorContext, socketErrorCode } from '../../adapter/index.js';
import {
  type ErrorCode,
  ErrorCodes,
  type EventStoreError,
  isEventStoreError,
  WrongExpectedVersionError,
} from '../../contract/index.js';

export type { ErrorContext } from '../../adapter/index.js';

/** node-postgres reports a broken connection with messages but no code. */
const BROKEN_CONNECTION =
  /connection terminated|connection (?:is )?closed|client has encountered a connection error|not queryable/i;

/**
 * node-postgres's own deadlines, also without a code: `query_timeout` ("Query read timeout"), and
 * `connectionTimeoutMillis` while connecting ("Connection terminated due to connection timeout", or "timeout
 * expired" from a bare client) or while waiting for a pooled connection ("timeout exceeded when trying to connect").
 */
export const CLIENT_TIMEOUT_MESSAGES =
  /^(?:query read timeout|connection terminated due to connection timeout|timeout expired|timeout exceeded when trying to connect)$/i;

/** node-postgres when the server asks for a password and none was given. */
const NO_PASSWORD = /client password must be a string|password authentication failed/i;

function fieldOf(err: unknown, name: string): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const value = (err as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

interface Classified {
  code: ErrorCode;
  meaning: string;
}

/** SQLSTATE → contract code, for the states that are not conflicts. */
function classifySqlState(state: string): Classified | undefined {
  if (state.startsWith('28') || state === '42501') {
    return {
      code: ErrorCodes.UNAUTHORIZED,
      meaning:
        state === '42501'
          ? 'the role lacks a privilege the operation needs (grant it, or create the schema with a role that has it)'
          : 'the server refused the credentials',
    };
  }
  if (state.startsWith('08') || state === '57P01' || state === '57P02' || state === '57P03') {
    return { code: ErrorCodes.UNAVAILABLE, meaning: 'the server is unavailable or dropped the connection' };
  }
  if (state === '53300') {
    return { code: ErrorCodes.UNAVAILABLE, meaning: 'the server has no connection slot left' };
  }
  if (state === '57014') {
    return { code: ErrorCodes.TIMEOUT, meaning: 'a statement timeout passed or the query was cancelled' };
  }
  if (state === '42P01' || state === '3F000' || state === '42883') {
    return {
      code: ErrorCodes.BACKEND_ERROR,
      meaning:
        'the event store schema is missing or incomplete; open the store with autoCreate (the default) once to create it',
    };
  }
  if (state === '3D000') return { code: ErrorCodes.BACKEND_ERROR, meaning: 'the database does not exist' };
  return undefined;
}

/**
 * Turns a PostgreSQL/PGlite/node-postgres error into a contract error, keeping the original as `cause`. The
 * message follows the contract's policy (see `ErrorCodes`): it names the SQLSTATE or socket code, never the
 * driver's message text.
 *
 * - `23505` unique violation, `40001` serialization failure, `40P01` deadlock during an append: a concurrent
 *   writer got there first, so `WRONG_EXPECTED_VERSION` (nothing was written).
 * - `28…` (wrong password, unknown role, no `pg_hba.conf` entry), `42501` insufficient privilege, no password
 *   given when the server wants one: `UNAUTHORIZED`.
 * - connection class `08…`, server shutdown `57P01/02/03`, too many connections `53300`, socket and DNS errors
 *   (`ECONNREFUSED`, `ENOTFOUND` …), a connection the driver reports broken: `UNAVAILABLE`.
 * - `57014` statement timeout or cancel, node-postgres's own connect and query deadlines: `TIMEOUT`.
 * - missing schema objects (`42P01`, `3F000`, `42883`): `BACKEND_ERROR` that says to create the schema.
 * - anything else: `BACKEND_ERROR`.
 */
export function mapError(err: unknown, ctx: ErrorContext): EventStoreError {
  if (isEventStoreError(err)) return err;
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
    return new WrongExpectedVersionError(streamId, ctx.expectedVersion ?? 'any', ctx.actualVersion, {
      cause: err,
      reason,
    });
  }
  const fail = (c: Classified, reason: unknown) =>
    backendError(c.code, 'PostgreSQL', ctx, c.meaning, reason, err);
  const byState = sqlState === undefined ? undefined : classifySqlState(sqlState);
  if (byState) return fail(byState, sqlState);
  const socket = socketErrorCode(err);
  if (socket !== undefined) {
    const dns = socket.startsWith('EAI_') || socket === 'ENOTFOUND';
    return fail(
      {
        code: ErrorCodes.UNAVAILABLE,
        meaning: dns ? 'the server name does not resolve' : 'the server could not be reached',
      },
      socket,
    );
  }
  const message = fieldOf(err, 'message') ?? '';
  if (CLIENT_TIMEOUT_MESSAGES.test(message)) {
    return fail(
      { code: ErrorCodes.TIMEOUT, meaning: 'the driver timed out waiting for the server' },
      'timeout',
    );
  }
  if (BROKEN_CONNECTION.test(message)) {
    return fail(
      { code: ErrorCodes.UNAVAILABLE, meaning: 'the server is unavailable or dropped the connection' },
      'connection-lost',
    );
  }
  if (NO_PASSWORD.test(message)) {
    return fail(
      { code: ErrorCodes.UNAUTHORIZED, meaning: 'the server asked for a password and none was given' },
      'no-password',
    );
  }
  return fail(
    { code: ErrorCodes.BACKEND_ERROR, meaning: 'the server or driver reported an error (see cause)' },
    sqlState ?? (err instanceof Error ? err.name : typeof err),
  );
}
