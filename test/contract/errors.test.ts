import { describe, expect, it } from 'vitest';
import { backendError, socketErrorCode } from '../../src/adapter/index.js';
import {
  AppendTooLargeError,
  ErrorCodes,
  EventStoreError,
  EventTooLargeError,
  InvalidArgumentError,
  isEventStoreError,
  StoreClosedError,
  TimeoutError,
  UnauthorizedError,
  WrongExpectedVersionError,
} from '../../src/index.js';

describe('contract errors', () => {
  it('carries a stable code and typed context on WrongExpectedVersionError', () => {
    const cause = new Error('backend said no');
    const err = new WrongExpectedVersionError('order-1', 3, 5, { cause });
    expect(err).toBeInstanceOf(EventStoreError);
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({
      code: 'WRONG_EXPECTED_VERSION',
      streamId: 'order-1',
      expectedVersion: 3,
      actualVersion: 5,
      name: 'WrongExpectedVersionError',
    });
    expect(err.cause).toBe(cause);
    expect(err.message).toContain('order-1');
  });

  it('gives every error class its code', () => {
    expect(new InvalidArgumentError('x').code).toBe('INVALID_ARGUMENT');
    expect(new EventTooLargeError('s', 0, 10, 5)).toMatchObject({
      code: 'EVENT_TOO_LARGE',
      sizeBytes: 10,
      maxBytes: 5,
    });
    expect(new AppendTooLargeError('s', 200, 0, 'max 100').code).toBe('APPEND_TOO_LARGE');
    expect(new StoreClosedError().code).toBe('STORE_CLOSED');
    expect(new TimeoutError('append', 50, { streamId: 's' })).toMatchObject({
      code: 'TIMEOUT',
      operation: 'append',
      streamId: 's',
      timeoutMs: 50,
    });
    // The store's own deadline gives an append the same advice as a backend's timeout (see backendError).
    expect(new TimeoutError('append', 50).message).toMatch(
      /may or may not have been applied: retry it with the same event ids$/,
    );
  });

  it('recognises contract errors by code, also from another copy of the package', () => {
    const foreign = Object.assign(new Error('from another copy'), { code: 'WRONG_EXPECTED_VERSION' });
    expect(isEventStoreError(foreign)).toBe(true);
    expect(isEventStoreError(foreign, 'WRONG_EXPECTED_VERSION')).toBe(true);
    expect(isEventStoreError(foreign, 'INVALID_ARGUMENT')).toBe(false);
    expect(isEventStoreError(new InvalidArgumentError('x'), 'INVALID_ARGUMENT')).toBe(true);
  });

  it('does not mistake other errors for contract errors', () => {
    expect(isEventStoreError(Object.assign(new Error('pg'), { code: '23505' }))).toBe(false);
    expect(isEventStoreError({ code: 'WRONG_EXPECTED_VERSION' })).toBe(false);
    expect(isEventStoreError(new Error('plain'))).toBe(false);
    expect(isEventStoreError(null)).toBe(false);
    expect(isEventStoreError('WRONG_EXPECTED_VERSION')).toBe(false);
  });

  it('lists every code once, as its own value', () => {
    for (const [key, value] of Object.entries(ErrorCodes)) expect(key).toBe(value);
  });

  it('accepts a cause on every error class', () => {
    const cause = new Error('backend');
    const errors = [
      new EventStoreError('BACKEND_ERROR', 'x', { cause }),
      new WrongExpectedVersionError('s', 1, 2, { cause }),
      new InvalidArgumentError('x', { cause }),
      new EventTooLargeError('s', 0, 10, 5, { cause }),
      new AppendTooLargeError('s', 2, 10, 'max', { cause }),
      new UnauthorizedError('x', { cause }),
      new StoreClosedError({ cause }),
    ];
    for (const err of errors) expect(err.cause, err.name).toBe(cause);
    expect(new UnauthorizedError('x')).toMatchObject({ code: 'UNAUTHORIZED', name: 'UnauthorizedError' });
  });

  it('builds backend errors by one message policy: identifiers only, and the retry advice only for appends', () => {
    const cause = new Error('postgres://u:hunter2@h/db');
    const write = backendError(
      'UNAVAILABLE',
      'PostgreSQL',
      { operation: 'append', streamId: 's-1' },
      'down',
      'ECONNREFUSED',
      cause,
    );
    expect(write).toMatchObject({ code: 'UNAVAILABLE', operation: 'append', streamId: 's-1', cause });
    expect(write.message).toBe(
      "PostgreSQL append failed on stream 's-1': down [ECONNREFUSED]; the append may or may not have been applied: retry it with the same event ids",
    );
    const read = backendError(
      'TIMEOUT',
      'DynamoDB',
      { operation: 'readAll', request: 'Query' },
      'slow',
      'TimeoutError',
      cause,
    );
    expect(read.message).toBe('DynamoDB readAll (Query) failed: slow [TimeoutError]');
    // TIMEOUT is the same class whether the store's deadline or the backend's passed.
    expect(read).toBeInstanceOf(TimeoutError);
    expect(read).toMatchObject({ name: 'TimeoutError', operation: 'readAll', timeoutMs: undefined, cause });
    // Anything that is not an identifier never reaches the message.
    const odd = backendError(
      'BACKEND_ERROR',
      'X',
      { operation: 'open' },
      'odd',
      'password=hunter2 at host',
      cause,
    );
    expect(odd.message).toBe('X open failed: odd [unknown]');
    expect(backendError('UNAUTHORIZED', 'X', { operation: 'open' }, 'no', '28P01', cause)).toBeInstanceOf(
      UnauthorizedError,
    );
  });

  it('finds socket codes, also inside an AggregateError', () => {
    const refused = Object.assign(new Error('connect'), { code: 'ECONNREFUSED' });
    expect(socketErrorCode(refused)).toBe('ECONNREFUSED');
    expect(socketErrorCode(new AggregateError([refused]))).toBe('ECONNREFUSED');
    expect(socketErrorCode(Object.assign(new Error('x'), { code: '23505' }))).toBeUndefined();
  });
});
