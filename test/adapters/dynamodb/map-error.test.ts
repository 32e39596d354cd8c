import {
  ProvisionedThroughputExceededException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { mapError } from '../../../src/adapters/dynamodb/map-error.js';
import { isRetryable, isTransientCancellation } from '../../../src/adapters/dynamodb/retry.js';
import { EventStoreError, WrongExpectedVersionError } from '../../../src/index.js';

const named = (name: string, message = 'secret AKIDEXAMPLE/20260101/us-east-1') =>
  Object.assign(new Error(message), { name, $metadata: {} });

describe('DynamoDB adapter: error mapping', () => {
  it('maps backend errors to contract codes, keeping the backend error as cause and out of the message', () => {
    const cases: Array<[unknown, string]> = [
      [named('ResourceNotFoundException'), 'BACKEND_ERROR'],
      [named('TimeoutError'), 'TIMEOUT'],
      [new ProvisionedThroughputExceededException({ message: 'x', $metadata: {} }), 'UNAVAILABLE'],
      [named('ThrottlingException'), 'UNAVAILABLE'],
      [named('InternalServerError'), 'UNAVAILABLE'],
      [Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'UNAVAILABLE'],
      [named('CredentialsProviderError'), 'UNAUTHORIZED'],
      [named('UnrecognizedClientException'), 'UNAUTHORIZED'],
      [named('InvalidSignatureException'), 'UNAUTHORIZED'],
      [named('ValidationException'), 'BACKEND_ERROR'],
      [new Error('anything else'), 'BACKEND_ERROR'],
    ];
    for (const [err, code] of cases) {
      const mapped = mapError(err, { operation: 'readStream', request: 'Query', streamId: 'stream-1' });
      expect(mapped, String((err as Error).name)).toBeInstanceOf(EventStoreError);
      expect(mapped.code).toBe(code);
      expect(mapped.cause).toBe(err);
      expect(mapped.streamId).toBe('stream-1');
      expect(mapped.message).not.toContain('AKIDEXAMPLE');
    }
  });

  it('passes contract errors through unchanged', () => {
    const err = new WrongExpectedVersionError('s', 1, 2);
    expect(mapError(err, { operation: 'append', request: 'TransactWriteItems' })).toBe(err);
  });

  it('retries only what is safe to retry', () => {
    const conflict = new TransactionCanceledException({
      message: 'x',
      $metadata: {},
      CancellationReasons: [{ Code: 'None' }, { Code: 'TransactionConflict' }],
    });
    const conditionFailed = new TransactionCanceledException({
      message: 'x',
      $metadata: {},
      CancellationReasons: [{ Code: 'ConditionalCheckFailed' }, { Code: 'TransactionConflict' }],
    });
    expect(isTransientCancellation(conflict)).toBe(true);
    expect(isTransientCancellation(conditionFailed)).toBe(false);
    expect(isRetryable(conflict, false)).toBe(true);
    expect(isRetryable(conditionFailed, true)).toBe(false);
    // Throttling proves nothing was applied: safe even for the counter's ADD.
    expect(isRetryable(named('ThrottlingException'), false)).toBe(true);
    // A lost answer may hide an applied write: only idempotent requests are resent.
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(isRetryable(reset, true)).toBe(true);
    expect(isRetryable(reset, false)).toBe(false);
    expect(isRetryable(named('ValidationException'), true)).toBe(false);
  });
});
