import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type ErrorContext, mapError } from './map-error.js';
import { mayHaveLostWrites, type RetryPolicy, withRetry } from './retry.js';

/** What the adapter's parts share: the client, the table, and how to call DynamoDB with retries. */
export class StoreContext {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly bucketSize: bigint;
  readonly retry: RetryPolicy;
  /** Counts retries, for tests and diagnosis. */
  retries = 0;
  /**
   * Called whenever a request fails with an unknown outcome, a lost connection or a passed deadline (see
   * `mayHaveLostWrites`): what this store remembers of the table may no longer hold.
   */
  onUnknownOutcome: () => void = () => {};
  /**
   * The highest position counter value this store has seen (its own allocations, counter reads). A hint only: it
   * tells readAll whether it is near the end of the log, never where the log ends.
   */
  counterSeen = 0n;

  constructor(client: DynamoDBClient, tableName: string, bucketSize: bigint, retry: RetryPolicy) {
    this.client = client;
    this.tableName = tableName;
    this.bucketSize = bucketSize;
    this.retry = retry;
  }

  sawCounter(value: bigint): void {
    if (value > this.counterSeen) this.counterSeen = value;
  }

  /** Runs `fn` with bounded retries of transient errors; the raw error is rethrown. */
  retrying<T>(fn: () => Promise<T>, idempotent = true): Promise<T> {
    return withRetry(fn, {
      idempotent,
      policy: this.retry,
      onRetry: () => {
        this.retries++;
      },
      onError: (err) => {
        if (mayHaveLostWrites(err)) this.onUnknownOutcome();
      },
    });
  }

  /** Runs `fn` with retries and maps a final failure to a contract error; `where` names the failed call. */
  async call<T>(where: ErrorContext, fn: () => Promise<T>, idempotent = true): Promise<T> {
    try {
      return await this.retrying(fn, idempotent);
    } catch (err) {
      throw mapError(err, where);
    }
  }
}
