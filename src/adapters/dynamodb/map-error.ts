import { backendError, type ErrorContext, socketErrorCode } from '../../adapter/index.js';
import { type ErrorCode, ErrorCodes, type EventStoreError, isEventStoreError } from '../../contract/index.js';
import { isTransientCancellation } from './retry.js';

export type { ErrorContext } from '../../adapter/index.js';

function nameOf(err: unknown): string {
  return typeof err === 'object' && err !== null
    ? String((err as { name?: unknown }).name ?? 'Error')
    : 'Error';
}

/** Refused credentials or permissions: AWS error names (with and without the `Exception` suffix). */
const UNAUTHORIZED = new Set([
  'AccessDeniedException',
  'AccessDenied',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'IncompleteSignatureException',
  'IncompleteSignature',
  'MissingAuthenticationToken',
  'MissingAuthenticationTokenException',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'ExpiredTokenException',
  'TokenRefreshRequired',
  'NotAuthorized',
  'CredentialsProviderError',
]);

/** Throttling that outlasted the bounded retries. */
const THROTTLED = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'Throttling',
  'RequestLimitExceeded',
  'LimitExceededException',
  'TooManyRequestsException',
]);

/** The service could not take the request, or its answer was lost. */
const UNAVAILABLE = new Set([
  'InternalServerError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TransactionConflictException',
  'TransactionInProgressException',
]);

/** The SDK's request deadline (`requestTimeout`, `connectionTimeout`) or the service's. */
const TIMEOUTS = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);

interface Classified {
  code: ErrorCode;
  meaning: string;
}

function classify(err: unknown, name: string): Classified {
  if (name === 'ResourceNotFoundException') {
    return {
      code: ErrorCodes.BACKEND_ERROR,
      meaning:
        "the table or its 'log' index does not exist; create it (see docs/dynamodb.md) or enable autoCreate",
    };
  }
  if (UNAUTHORIZED.has(name)) {
    return {
      code: ErrorCodes.UNAUTHORIZED,
      meaning:
        name === 'CredentialsProviderError'
          ? 'no AWS credentials were found in the default provider chain'
          : 'AWS refused the credentials or the permission the request needs',
    };
  }
  if (TIMEOUTS.has(name)) return { code: ErrorCodes.TIMEOUT, meaning: 'no answer before the deadline' };
  if (THROTTLED.has(name)) {
    return { code: ErrorCodes.UNAVAILABLE, meaning: 'throttled through every bounded retry' };
  }
  if (isTransientCancellation(err)) {
    return {
      code: ErrorCodes.UNAVAILABLE,
      meaning: 'transactions kept conflicting through every bounded retry',
    };
  }
  const socket = socketErrorCode(err);
  if (socket !== undefined) {
    const dns = socket.startsWith('EAI_') || socket === 'ENOTFOUND';
    return {
      code: ErrorCodes.UNAVAILABLE,
      meaning: dns ? 'the endpoint name does not resolve' : 'the endpoint could not be reached',
    };
  }
  const status = (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  if (UNAVAILABLE.has(name) || (status !== undefined && status >= 500)) {
    return {
      code: ErrorCodes.UNAVAILABLE,
      meaning: 'the service was unavailable through every bounded retry',
    };
  }
  return { code: ErrorCodes.BACKEND_ERROR, meaning: 'the service or SDK reported an error (see cause)' };
}

/**
 * Turns a DynamoDB or SDK error into a contract error, keeping it as `cause`. The message follows the contract's
 * policy (see `ErrorCodes`): it names the AWS error name or socket code, never the SDK's message text, which
 * can quote request details such as a signature's credential scope.
 *
 * - AccessDenied, UnrecognizedClient, InvalidSignature, MissingAuthenticationToken, ExpiredToken … and no
 *   credentials found: `UNAUTHORIZED`.
 * - socket and DNS errors, 5xx, InternalServerError, ServiceUnavailable, and throttling that outlasted the
 *   bounded retries (ProvisionedThroughputExceeded, Throttling, RequestLimitExceeded): `UNAVAILABLE`.
 * - the SDK's request or connection timeout: `TIMEOUT`.
 * - a missing table or index: `BACKEND_ERROR` that says how to create it; anything else: `BACKEND_ERROR`.
 *
 * Conflicts on a stream are not handled here: the append decides WRONG_EXPECTED_VERSION from what it read.
 */
export function mapError(err: unknown, ctx: ErrorContext): EventStoreError {
  if (isEventStoreError(err)) return err;
  const name = nameOf(err);
  const { code, meaning } = classify(err, name);
  const reason = code === ErrorCodes.UNAVAILABLE ? (socketErrorCode(err) ?? name) : name;
  return backendError(code, 'DynamoDB', ctx, meaning, reason, err);
}
