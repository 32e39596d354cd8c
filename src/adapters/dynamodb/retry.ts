import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';

/** Bounded retries with exponential backoff and full jitter. */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** The first backoff's ceiling, in ms; it doubles per attempt up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 8, baseDelayMs: 20, maxDelayMs: 1_000 };

/** Errors DynamoDB raises before applying anything: a retry can never apply a write twice. */
const REJECTED_BEFORE_APPLYING = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TransactionConflictException',
  'TransactionInProgressException',
  'LimitExceededException',
]);

/** Errors after which the request may or may not have been applied. */
const OUTCOME_UNKNOWN = new Set([
  'InternalServerError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'NetworkingError',
]);
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND']);

/** Cancellation reasons that mean "try again", not "a condition failed". */
const TRANSIENT_REASONS = new Set([
  'TransactionConflict',
  'ThrottlingError',
  'ProvisionedThroughputExceeded',
  'RequestLimitExceeded',
]);

function nameOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null ? (err as { name?: string }).name : undefined;
}

/** True for a cancelled transaction whose only failures were transient (no condition failed). */
export function isTransientCancellation(err: unknown): boolean {
  if (!(err instanceof TransactionCanceledException) && nameOf(err) !== 'TransactionCanceledException')
    return false;
  const reasons = (err as TransactionCanceledException).CancellationReasons ?? [];
  let transient = false;
  for (const r of reasons) {
    if (r.Code === 'ConditionalCheckFailed') return false;
    if (r.Code !== undefined && TRANSIENT_REASONS.has(r.Code)) transient = true;
  }
  return transient;
}

export function isNetworkError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && NETWORK_CODES.has(code);
}

/**
 * Whether `err` is worth a retry. `idempotent` says whether applying the request twice is harmless: reads,
 * conditional writes and transactions with a ClientRequestToken are; the position counter's ADD is not, so it is
 * retried only after errors that prove nothing was applied.
 */
export function isRetryable(err: unknown, idempotent: boolean): boolean {
  const name = nameOf(err);
  // The HTTP handler's deadline (request or connect) passed: another attempt would wait as long again, past the
  // call's deadline.
  if (name === 'TimeoutError') return false;
  if (name !== undefined && REJECTED_BEFORE_APPLYING.has(name)) return true;
  if (isTransientCancellation(err)) return true;
  if (!idempotent) return false;
  if (name !== undefined && OUTCOME_UNKNOWN.has(name)) return true;
  const status = (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  if (status !== undefined && status >= 500) return true;
  return isNetworkError(err);
}

/**
 * True for a failure after which the request may or may not have been applied, or the connection to the backend was
 * lost: the backend may also have restarted meanwhile, and one that keeps its data in a local file (DynamoDB Local
 * killed with SIGKILL) may have lost writes it had already acknowledged.
 */
export function isUnknownOutcome(err: unknown): boolean {
  return isRetryable(err, true) && !isRetryable(err, false);
}

/** An unknown outcome, or a request that passed its deadline (never retried): the backend may have lost writes. */
export function mayHaveLostWrites(err: unknown): boolean {
  return nameOf(err) === 'TimeoutError' || isUnknownOutcome(err);
}

export function backoffMs(attempt: number, policy: RetryPolicy): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.random() * ceiling;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Calls `fn` until it succeeds, fails for good, or runs out of attempts; the last error is rethrown. */
export async function withRetry<T>(
  fn: () => Promise<T>,
  options: {
    idempotent: boolean;
    policy: RetryPolicy;
    onRetry?: (err: unknown, attempt: number) => void;
    /** Called on every failed attempt, retried or not. */
    onError?: (err: unknown) => void;
  },
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      options.onError?.(err);
      if (attempt + 1 >= options.policy.maxAttempts || !isRetryable(err, options.idempotent)) throw err;
      options.onRetry?.(err, attempt + 1);
      await sleep(backoffMs(attempt, options.policy));
    }
  }
}
