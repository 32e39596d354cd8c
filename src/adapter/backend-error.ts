import {
  type ErrorCode,
  ErrorCodes,
  EventStoreError,
  type Operation,
  TimeoutError,
  UnauthorizedError,
} from '../contract/errors.js';
import type { ExpectedVersion } from '../contract/types.js';

/**
 * What a failed call was doing, in contract terms. Adapters pass it to their `mapError` so that every contract
 * error names the same things the same way; the fields that apply are copied onto the error.
 */
export interface ErrorContext {
  operation: Operation;
  /** The backend request that failed, for the message (e.g. `TransactWriteItems`); never holds a secret. */
  request?: string;
  /** The stream the operation targeted, when there was one. */
  streamId?: string;
  /** The expected version the caller passed to `append`. */
  expectedVersion?: ExpectedVersion;
  /** The stream's version when the backend reported it. */
  actualVersion?: number;
  /** The number of events in the append. */
  eventCount?: number;
  /** The append's size in bytes, as validation measured it. */
  bytes?: number;
}

/**
 * Socket and DNS error codes (Node's `err.code`) that mean the backend could not be reached or the connection
 * broke: every adapter maps them to `UNAVAILABLE`. `ETIMEDOUT` is here too: it is the operating system giving
 * up on a connection or a keepalive probe (an unreachable or vanished host), not a call deadline.
 */
export const SOCKET_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EAI_NODATA',
  'EAI_NONAME',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENETRESET',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/**
 * The socket or DNS error code of `err` (or of the first error inside an `AggregateError`, as Node raises when
 * every address of a host refused), when it is one of {@link SOCKET_ERROR_CODES}.
 */
export function socketErrorCode(err: unknown): string | undefined {
  for (let e = err, depth = 0; typeof e === 'object' && e !== null && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && SOCKET_ERROR_CODES.has(code)) return code;
    const inner = (e as { errors?: unknown }).errors;
    e = Array.isArray(inner) ? inner[0] : (e as { cause?: unknown }).cause;
  }
  return undefined;
}

const IDENTIFIER = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * A backend's error identifier (SQLSTATE, AWS error name, gRPC status, socket code) made safe for a message:
 * kept when it looks like an identifier, `'unknown'` otherwise, so free text can never slip through.
 */
export function reasonId(id: unknown): string {
  return typeof id === 'string' && IDENTIFIER.test(id) ? id : typeof id === 'number' ? String(id) : 'unknown';
}

/**
 * Builds the contract error for a backend failure, with the message policy of {@link ErrorCodes}: the backend,
 * the operation, the stream, what the failure means (`meaning`, written by the adapter in contract terms), the
 * backend's reason as an identifier, and for an append that failed with `UNAVAILABLE` or `TIMEOUT` the advice to
 * retry with the same event ids. Only writes carry that advice: a read that failed changed nothing.
 *
 * The class follows the code: `UNAUTHORIZED` is an {@link UnauthorizedError}, `TIMEOUT` a {@link TimeoutError}
 * (with no `timeoutMs`: the backend's deadline passed, not the store's), anything else an {@link EventStoreError}.
 */
export function backendError(
  code: ErrorCode,
  backend: string,
  ctx: ErrorContext,
  meaning: string,
  reason: unknown,
  cause: unknown,
): EventStoreError {
  const request = ctx.request === undefined ? '' : ` (${ctx.request})`;
  const stream = ctx.streamId === undefined ? '' : ` on stream '${ctx.streamId}'`;
  const unknownOutcome =
    ctx.operation === 'append' && (code === ErrorCodes.UNAVAILABLE || code === ErrorCodes.TIMEOUT)
      ? '; the append may or may not have been applied: retry it with the same event ids'
      : '';
  const message = `${backend} ${ctx.operation}${request} failed${stream}: ${meaning} [${reasonId(reason)}]${unknownOutcome}`;
  const options = { cause, streamId: ctx.streamId, operation: ctx.operation };
  if (code === ErrorCodes.UNAUTHORIZED) return new UnauthorizedError(message, options);
  if (code === ErrorCodes.TIMEOUT) return new TimeoutError(ctx.operation, undefined, { ...options, message });
  return new EventStoreError(code, message, options);
}
