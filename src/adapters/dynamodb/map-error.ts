import { ErrorCodes, EventStoreError } from '../../contract/index.js';
import { isNetworkError, isRetryable } from './retry.js';

function nameOf(err: unknown): string {
  return typeof err === 'object' && err !== null
    ? String((err as { name?: unknown }).name ?? 'Error')
    : 'Error';
}

/**
 * Turns a DynamoDB or SDK error into a contract error. Messages name the operation and the error's name only: an
 * SDK message can quote request details (a signature's credential scope, say), so it stays in `cause`.
 * Conflicts on a stream are not handled here: the append decides WRONG_EXPECTED_VERSION from what it read.
 */
export function mapError(err: unknown, operation: string, streamId?: string): EventStoreError {
  if (err instanceof EventStoreError) return err;
  const name = nameOf(err);
  const opts = { cause: err, streamId };
  if (name === 'ResourceNotFoundException') {
    return new EventStoreError(
      ErrorCodes.BACKEND_ERROR,
      `DynamoDB ${operation}: the table or its 'log' index does not exist; create it (see docs/dynamodb.md) or enable autoCreate`,
      opts,
    );
  }
  if (name === 'TimeoutError' || name === 'RequestTimeout' || name === 'RequestTimeoutException') {
    return new EventStoreError(
      ErrorCodes.TIMEOUT,
      `DynamoDB ${operation} timed out; an append may or may not have been applied, retry it with the same event ids`,
      opts,
    );
  }
  if (isNetworkError(err) || isRetryable(err, true)) {
    return new EventStoreError(
      ErrorCodes.UNAVAILABLE,
      `DynamoDB ${operation} failed after retries (${name}); an append may or may not have been applied, retry it with the same event ids`,
      opts,
    );
  }
  if (name === 'CredentialsProviderError') {
    return new EventStoreError(
      ErrorCodes.UNAVAILABLE,
      `DynamoDB ${operation}: no AWS credentials found in the default provider chain`,
      opts,
    );
  }
  if (
    name === 'AccessDeniedException' ||
    name === 'UnrecognizedClientException' ||
    name === 'InvalidSignatureException'
  ) {
    return new EventStoreError(ErrorCodes.BACKEND_ERROR, `DynamoDB ${operation} was refused (${name})`, opts);
  }
  return new EventStoreError(ErrorCodes.BACKEND_ERROR, `DynamoDB ${operation} failed (${name})`, opts);
}
