import { describe, expect, it } from 'vitest';
import {
  AppendTooLargeError,
  ErrorCodes,
  EventStoreError,
  EventTooLargeError,
  InvalidArgumentError,
  isEventStoreError,
  StoreClosedError,
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
});
