import { convertToCommandError, ErrorType } from '@eventstore/db-client';
import { backendError, type ErrorContext, socketErrorCode } from '../../adapter/index.js';
import {
  AppendTooLargeError,
  type ErrorCode,
  ErrorCodes,
  type EventStoreError,
  isEventStoreError,
  WrongExpectedVersionError,
} from '../../contract/index.js';

export type { ErrorContext } from '../../adapter/index.js';

interface ClientError {
  type?: unknown;
  code?: unknown;
  actualVersion?: unknown;
  maxAppendSize?: unknown;
  message?: unknown;
}

/** The client's CurrentRevision (`bigint` revision or `'no_stream'`) as a contract version (revision + 1, or 0). */
export function versionOf(revision: unknown): number | undefined {
  if (typeof revision === 'bigint') return Number(revision) + 1;
  if (revision === 'no_stream') return 0;
  return undefined;
}

/**
 * The gRPC status codes the client leaves as 'unknown' (fixed by the gRPC specification; the adapter does not
 * load `@grpc/grpc-js` itself, which is the client's dependency, not the kit's).
 */
const GrpcStatus = { PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, UNAUTHENTICATED: 16 } as const;
const GRPC_NAMES: Record<number, string> = {
  7: 'PERMISSION_DENIED',
  8: 'RESOURCE_EXHAUSTED',
  16: 'UNAUTHENTICATED',
};

/** What the client throws when `esdb+discover://` found no node (the name did not resolve, or no node answered). */
const DISCOVERY_FAILED = /^Failed to discover after \d+ attempts/;

interface Classified {
  code: ErrorCode;
  meaning: string;
  reason: unknown;
}

function classify(err: unknown, e: ClientError): Classified {
  const grpcCode = typeof e.code === 'number' ? e.code : undefined;
  const grpcName = grpcCode === undefined ? undefined : GRPC_NAMES[grpcCode];
  switch (e.type) {
    case ErrorType.ACCESS_DENIED:
      return {
        code: ErrorCodes.UNAUTHORIZED,
        meaning: 'the server refused the credentials or the permission the operation needs',
        reason: e.type,
      };
    case ErrorType.DEADLINE_EXCEEDED:
    case ErrorType.TIMEOUT:
      return { code: ErrorCodes.TIMEOUT, meaning: 'no answer before the deadline', reason: e.type };
    case ErrorType.UNAVAILABLE:
    case ErrorType.NOT_LEADER:
    case ErrorType.CANCELLED:
      return {
        code: ErrorCodes.UNAVAILABLE,
        meaning: 'the server could not be reached, is not the leader, or ended the call',
        reason: e.type,
      };
  }
  // Statuses the client leaves as 'unknown'.
  if (grpcCode === GrpcStatus.PERMISSION_DENIED || grpcCode === GrpcStatus.UNAUTHENTICATED) {
    return {
      code: ErrorCodes.UNAUTHORIZED,
      meaning: 'the server refused the credentials or the permission the operation needs',
      reason: grpcName,
    };
  }
  if (grpcCode === GrpcStatus.RESOURCE_EXHAUSTED) {
    return { code: ErrorCodes.UNAVAILABLE, meaning: 'the server is overloaded', reason: grpcName };
  }
  const socket = socketErrorCode(err);
  if (socket !== undefined) {
    return { code: ErrorCodes.UNAVAILABLE, meaning: 'the server could not be reached', reason: socket };
  }
  if (typeof e.message === 'string' && DISCOVERY_FAILED.test(e.message)) {
    return {
      code: ErrorCodes.UNAVAILABLE,
      meaning: 'cluster discovery found no node (the name does not resolve, or no node answered)',
      reason: 'discovery-failed',
    };
  }
  const kind = typeof e.type === 'string' ? e.type : err instanceof Error ? err.name : typeof err;
  return {
    code: ErrorCodes.BACKEND_ERROR,
    meaning: 'the server or client reported an error (see cause)',
    reason: kind,
  };
}

/**
 * Turns what `@eventstore/db-client` throws into a contract error, keeping it as `cause`. The message follows
 * the contract's policy (see `ErrorCodes`): it names the client's error type or gRPC status, never the client's
 * message text, which may hold endpoints.
 *
 * - WrongExpectedVersionError → WRONG_EXPECTED_VERSION, actualVersion = current revision + 1 (0 for no stream);
 * - StreamDeletedError → STREAM_DELETED;
 * - MaxAppendSizeExceededError → APPEND_TOO_LARGE;
 * - AccessDeniedError (gRPC UNAUTHENTICATED, the server's access-denied), gRPC PERMISSION_DENIED → UNAUTHORIZED;
 * - DeadlineExceededError, TimeoutError (the server's commit/prepare timeout) → TIMEOUT;
 * - UnavailableError (also a name that does not resolve, a closed port), NotLeaderError, CancelledError (the server
 *   ended the call), gRPC RESOURCE_EXHAUSTED, socket errors, `esdb+discover://` finding no node → UNAVAILABLE;
 * - anything else → BACKEND_ERROR.
 */
export function mapError(err: unknown, ctx: ErrorContext): EventStoreError {
  if (isEventStoreError(err)) return err;
  // Some calls (e.g. the client's server-features probe) reject with a raw gRPC ServiceError: type it first.
  const converted = typeof err === 'object' && err !== null ? convertToCommandError(err as Error) : err;
  const e = (typeof converted === 'object' && converted !== null ? converted : {}) as ClientError;
  const stream = ctx.streamId;
  switch (e.type) {
    case ErrorType.WRONG_EXPECTED_VERSION:
      return new WrongExpectedVersionError(
        stream ?? '',
        ctx.expectedVersion ?? 'any',
        versionOf(e.actualVersion),
        { cause: err },
      );
    case ErrorType.STREAM_DELETED:
      return backendError(
        ErrorCodes.STREAM_DELETED,
        'EventStoreDB',
        ctx,
        'the stream is deleted',
        e.type,
        err,
      );
    case ErrorType.MAXIMUM_APPEND_SIZE_EXCEEDED:
      return new AppendTooLargeError(
        stream ?? '',
        ctx.eventCount ?? 0,
        ctx.bytes ?? 0,
        `the server's MaxAppendSize ${String(e.maxAppendSize ?? 'unknown')}`,
        { cause: err },
      );
  }
  const { code, meaning, reason } = classify(err, e);
  return backendError(code, 'EventStoreDB', ctx, meaning, reason, err);
}
