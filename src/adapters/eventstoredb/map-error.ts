import { convertToCommandError, ErrorType } from '@eventstore/db-client';
import {
  AppendTooLargeError,
  ErrorCodes,
  EventStoreError,
  type ExpectedVersion,
  isEventStoreError,
  WrongExpectedVersionError,
} from '../../contract/index.js';

/** What the failed operation was, for the error's context. */
export interface ErrorContext {
  streamId?: string;
  expectedVersion?: ExpectedVersion;
  eventCount?: number;
  bytes?: number;
}

interface ClientError {
  type?: unknown;
  actualVersion?: unknown;
  maxAppendSize?: unknown;
}

/** The client's CurrentRevision (`bigint` revision or `'no_stream'`) as a contract version (revision + 1, or 0). */
export function versionOf(revision: unknown): number | undefined {
  if (typeof revision === 'bigint') return Number(revision) + 1;
  if (revision === 'no_stream') return 0;
  return undefined;
}

/**
 * Turns what `@eventstore/db-client` throws into a contract error; the client's error stays in `cause`. Messages
 * name the failure, never the connection string (the client's own message may hold endpoints).
 *
 * - WrongExpectedVersionError → WRONG_EXPECTED_VERSION, actualVersion = current revision + 1 (0 for no stream);
 * - StreamDeletedError → STREAM_DELETED;
 * - MaxAppendSizeExceededError → APPEND_TOO_LARGE;
 * - DeadlineExceededError, TimeoutError (the server's commit/prepare timeout) → TIMEOUT;
 * - UnavailableError, NotLeaderError, CancelledError (the server ended the call) → UNAVAILABLE: retry with the same
 *   event ids;
 * - anything else → BACKEND_ERROR.
 */
export function mapError(err: unknown, ctx: ErrorContext = {}): EventStoreError {
  if (isEventStoreError(err)) return err;
  // Some calls (e.g. the client's server-features probe) reject with a raw gRPC ServiceError: type it first.
  const converted = typeof err === 'object' && err !== null ? convertToCommandError(err as Error) : err;
  const e = (typeof converted === 'object' && converted !== null ? converted : {}) as ClientError;
  const stream = ctx.streamId;
  const where = stream === undefined ? '' : ` (stream '${stream}')`;
  const base = { cause: err, streamId: stream };
  switch (e.type) {
    case ErrorType.WRONG_EXPECTED_VERSION:
      return new WrongExpectedVersionError(
        stream ?? '',
        ctx.expectedVersion ?? 'any',
        versionOf(e.actualVersion),
        { cause: err },
      );
    case ErrorType.STREAM_DELETED:
      return new EventStoreError(
        ErrorCodes.STREAM_DELETED,
        `EventStoreDB: the stream is deleted${where}`,
        base,
      );
    case ErrorType.MAXIMUM_APPEND_SIZE_EXCEEDED: {
      const error = new AppendTooLargeError(
        stream ?? '',
        ctx.eventCount ?? 0,
        ctx.bytes ?? 0,
        `the server's MaxAppendSize ${String(e.maxAppendSize ?? 'unknown')}`,
      );
      Object.defineProperty(error, 'cause', {
        value: err,
        enumerable: false,
        configurable: true,
        writable: true,
      });
      return error;
    }
    case ErrorType.DEADLINE_EXCEEDED:
    case ErrorType.TIMEOUT:
      return new EventStoreError(
        ErrorCodes.TIMEOUT,
        `EventStoreDB did not answer before the deadline${where}; an append may or may not have been applied: retry it with the same event ids`,
        base,
      );
    case ErrorType.UNAVAILABLE:
    case ErrorType.NOT_LEADER:
    case ErrorType.CANCELLED:
      return new EventStoreError(
        ErrorCodes.UNAVAILABLE,
        `EventStoreDB is unavailable${where}; an append may or may not have been applied: retry it with the same event ids`,
        base,
      );
    default: {
      const kind = typeof e.type === 'string' ? e.type : err instanceof Error ? err.name : typeof err;
      return new EventStoreError(
        ErrorCodes.BACKEND_ERROR,
        `EventStoreDB request failed: ${kind}${where}`,
        base,
      );
    }
  }
}
