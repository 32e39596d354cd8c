import { type DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import {
  BaseEventStore,
  type BaseEventStoreOptions,
  type CallContext,
  type PreparedAppend,
  type PreparedDeleteStream,
  type PreparedReadAll,
  type PreparedReadStream,
  type PreparedSetStreamMetadata,
  type PreparedSnapshot,
  type PreparedTruncateStream,
} from '../../adapter/index.js';
import {
  type AppendResult,
  type Capabilities,
  type DeleteStreamResult,
  InvalidArgumentError,
  MAX_EVENT_TYPE_BYTES,
  MAX_POSITION_INT64,
  type RecordedEvent,
  type RetentionResult,
  type Snapshot,
  StreamDeletedError,
  type StreamMetadataResult,
} from '../../contract/index.js';
import { StreamLanes } from '../../internal/stream-lanes.js';
import { assertKnownOptions } from '../../url-options.js';
import { appendEvents } from './append.js';
import { DynamoDBCommitter } from './committer.js';
import { StoreContext } from './context.js';
import { startImport } from './import-start.js';
import {
  DEFAULT_LOG_BUCKET_SIZE,
  decodeEvent,
  decodeStreamId,
  decodeType,
  type Item,
  isEvent,
  MAX_APPEND_BYTES,
  MAX_EVENT_BYTES,
  MAX_EVENTS_PER_APPEND,
  versionRange,
} from './items.js';
import * as lifecycle from './lifecycle.js';
import { PositionAllocator } from './positions.js';
import { readLog } from './read-all.js';
import { DEFAULT_RETRY, type RetryPolicy } from './retry.js';
import { loadSnapshot, saveSnapshot } from './snapshots.js';
import { StreamHeads } from './stream-heads.js';
import { readView } from './stream-meta.js';
import * as subscriptions from './subscriptions.js';
import { ensureTable, validateTableName } from './table.js';
import { NO_FILTER, type StreamFilter, shows, streamFilter, streamFilters } from './visibility.js';

export interface DynamoDBEventStoreOptions extends BaseEventStoreOptions {
  /** The client to use. The caller owns it: `close()` leaves it open. */
  client: DynamoDBClient;
  /** The table; 3 to 255 of `a-z A-Z 0-9 _ - .`. */
  tableName: string;
  /** Create the table on first use when it does not exist, and wait until it is ACTIVE. Defaults to true. */
  autoCreate?: boolean;
  /**
   * How long a position handed out but never committed (a crashed writer) may hold readers back before a reader
   * fills it. Defaults to 5,000 ms. A writer slower than this loses its positions and retries with new ones.
   */
  holeTimeoutMs?: number;
  /** How long one readAll call waits for an open hole before it ends early. Defaults to 250 ms. */
  holeWaitMs?: number;
  /** Most recent events per stream among which an 'any'/'stream_exists' retry is recognised. Defaults to 20. */
  idempotencyWindow?: number;
  /**
   * How many transactions one store may have in flight. Appends that arrive meanwhile are committed together in
   * the next one (one per stream). Defaults to 1: a single committer gathers the largest groups.
   */
  maxConcurrentCommits?: number;
  /** Bounded retries of throttling, transaction conflicts and transient errors. */
  retry?: Partial<RetryPolicy>;
  /** @internal Positions per log bucket. Fixed for a table's whole life; only tests change it. */
  logBucketSize?: bigint;
}

const OPTION_KEYS = [
  'client',
  'tableName',
  'autoCreate',
  'holeTimeoutMs',
  'holeWaitMs',
  'idempotencyWindow',
  'retry',
  'maxConcurrentCommits',
  'logBucketSize',
  'timeoutMs',
];

function nonNegativeInt(value: unknown, name: string, fallback: number, max = 3_600_000): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > max) {
    throw new InvalidArgumentError(`${name} must be an integer from 0 to ${max}`, { argument: name });
  }
  return value;
}

/**
 * The DynamoDB adapter. Events live one per item under their stream's partition; a position counter, claims and
 * the `log` index give the global order without any item that every append must update under a condition. The
 * stream lifecycle keeps a state item per deleted, truncated or configured stream and erases events into stubs
 * that keep their keys (lifecycle.ts). See docs/dynamodb.md for the design and its costs.
 */
export class DynamoDBEventStore extends BaseEventStore {
  readonly capabilities: Capabilities;
  readonly #ctx: StoreContext;
  readonly #allocator: PositionAllocator;
  readonly #committer: DynamoDBCommitter;
  readonly #ownsClient: boolean;
  readonly #autoCreate: boolean;
  readonly #holeTimeoutMs: number;
  readonly #holeWaitMs: number;
  readonly #window: number;
  readonly #holes = new Map<bigint, number>();
  readonly #heads: StreamHeads;
  readonly #lanes = new StreamLanes();
  #ready: Promise<void> | undefined;

  /** @internal Use `createDynamoDBEventStore` or `createEventStore('dynamodb://…')`. */
  constructor(options: DynamoDBEventStoreOptions, ownsClient = false) {
    assertKnownOptions(options as unknown as Record<string, unknown>, OPTION_KEYS);
    super(options);
    const client = options.client;
    if (typeof client !== 'object' || client === null || typeof client.send !== 'function') {
      throw new InvalidArgumentError('options.client must be a DynamoDBClient', {
        argument: 'options.client',
      });
    }
    const bucketSize = options.logBucketSize ?? DEFAULT_LOG_BUCKET_SIZE;
    if (typeof bucketSize !== 'bigint' || bucketSize < 1n) {
      throw new InvalidArgumentError('options.logBucketSize must be a positive bigint', {
        argument: 'options.logBucketSize',
      });
    }
    const retry = { ...DEFAULT_RETRY, ...options.retry };
    nonNegativeInt(retry.maxAttempts, 'options.retry.maxAttempts', 1, 100);
    this.#ctx = new StoreContext(client, validateTableName(options.tableName), bucketSize, retry);
    this.#ownsClient = ownsClient;
    this.#autoCreate = options.autoCreate ?? true;
    this.#holeTimeoutMs = nonNegativeInt(options.holeTimeoutMs, 'options.holeTimeoutMs', 5_000);
    this.#holeWaitMs = nonNegativeInt(options.holeWaitMs, 'options.holeWaitMs', 250);
    this.#window = nonNegativeInt(options.idempotencyWindow, 'options.idempotencyWindow', 20, 1_000);
    if (this.#window < 1) {
      throw new InvalidArgumentError('options.idempotencyWindow must be at least 1', {
        argument: 'options.idempotencyWindow',
      });
    }
    this.#allocator = new PositionAllocator(this.#ctx);
    this.#heads = new StreamHeads(10_000, this.#window);
    this.#ctx.onUnknownOutcome = () => this.#heads.clear();
    this.#committer = new DynamoDBCommitter(
      this.#ctx,
      this.#allocator,
      this.#heads,
      nonNegativeInt(options.maxConcurrentCommits, 'options.maxConcurrentCommits', 1, 64) || 1,
    );
    this.capabilities = Object.freeze({
      maxEventsPerAppend: MAX_EVENTS_PER_APPEND,
      maxEventBytes: MAX_EVENT_BYTES,
      maxEventTypeBytes: MAX_EVENT_TYPE_BYTES,
      maxPosition: MAX_POSITION_INT64,
      maxAppendBytes: MAX_APPEND_BYTES,
      idempotencyWindow: this.#window,
      lifecycle: true,
      snapshots: true,
      preserveCreatedAt: true,
      importFirstVersion: true,
      transactionalSubscriptions: true,
    });
  }

  /** @internal Counters for tests and the benchmark: transient retries, counter `ADD`s and transactions sent. */
  get stats(): { retries: number; counterRequests: number; commits: number } {
    return {
      retries: this.#ctx.retries,
      counterRequests: this.#allocator.requests,
      commits: this.#committer.commits,
    };
  }

  async #ensureReady(): Promise<void> {
    if (!this.#autoCreate) return;
    this.#ready ??= ensureTable(this.#ctx.client, this.#ctx.tableName).catch((err: unknown) => {
      this.#ready = undefined;
      throw err;
    });
    await this.#ready;
  }

  protected async _append(prepared: PreparedAppend): Promise<AppendResult> {
    await this.#ensureReady();
    const deps = {
      ctx: this.#ctx,
      committer: this.#committer,
      heads: this.#heads,
      idempotencyWindow: this.#window,
    };
    if (prepared.firstVersion !== undefined) {
      // The stream moves to firstVersion - 1 first, if it never had an event; then an append at that version.
      await startImport(this.#ctx, prepared);
      const { firstVersion: _, ...append } = prepared;
      return appendEvents(deps, append);
    }
    if (typeof prepared.expectedVersion === 'number') return appendEvents(deps, prepared);
    // 'any'/'stream_exists' decide from the stream's head: one at a time per stream in this store (see StreamLanes).
    return this.#lanes.run(prepared.streamId, () => appendEvents(deps, prepared));
  }

  protected async *_readStream(
    prepared: PreparedReadStream,
    call: CallContext,
  ): AsyncIterable<RecordedEvent> {
    const { streamId, direction, fromVersion, maxCount } = prepared;
    await this.#ensureReady();
    // What a delete, truncation or retention hides: read first, so that nothing removed before this read shows.
    const filter = await streamFilter(this.#ctx, streamId);
    if (filter.tombstoned) throw new StreamDeletedError(streamId);
    const forwards = direction === 'forwards';
    const from = Math.max(forwards ? (fromVersion ?? 1) : 1, filter.from, 1);
    const to = forwards ? Number.MAX_SAFE_INTEGER : (fromVersion ?? Number.MAX_SAFE_INTEGER);
    if (to < from) return;
    const ctx = this.#ctx;
    let yielded = 0;
    let startKey: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue> | undefined;
    do {
      const remaining = maxCount - yielded;
      const out = await ctx.call(
        { operation: 'readStream', request: 'Query (stream)', streamId },
        () =>
          ctx.client.send(
            new QueryCommand({
              TableName: ctx.tableName,
              ...versionRange(streamId, from, to),
              ScanIndexForward: forwards,
              ConsistentRead: true,
              ExclusiveStartKey: startKey,
              Limit: Number.isFinite(remaining) ? Math.min(remaining, 1000) : 1000,
            }),
            { abortSignal: call.signal },
          ),
        true,
      );
      for (const item of out.Items ?? []) {
        // Stubs of erased events and a tombstone's fence hold no event.
        if (!isEvent(item) || (filter !== NO_FILTER && !shows(filter, item))) continue;
        yield decodeEvent(item);
        if (++yielded >= maxCount) return;
      }
      startKey = out.LastEvaluatedKey;
    } while (startKey);
  }

  protected async *_readAll(prepared: PreparedReadAll): AsyncIterable<RecordedEvent> {
    const { after, maxCount, eventTypes, streamPrefix } = prepared;
    await this.#ensureReady();
    const types = eventTypes ? new Set(eventTypes) : undefined;
    const filtered = types !== undefined || streamPrefix !== undefined;
    let yielded = 0;
    const log = readLog(this.#ctx, {
      after,
      pageSize: !filtered && Number.isFinite(maxCount) ? Math.min(Math.max(maxCount, 1), 1000) : 1000,
      holeTimeoutMs: this.#holeTimeoutMs,
      holeWaitMs: this.#holeWaitMs,
      holes: this.#holes,
    });
    // Events are checked against their streams' state in batches: one BatchGetItem per batch.
    let batch: Item[] = [];
    const release = async function* (ctx: StoreContext): AsyncGenerator<RecordedEvent> {
      const filters: Map<string, StreamFilter> = await streamFilters(ctx, batch);
      const ready = batch;
      batch = [];
      for (const item of ready) {
        const filter = filters.get(decodeStreamId(item))!;
        if (filter === NO_FILTER || (!filter.tombstoned && shows(filter, item))) yield decodeEvent(item);
      }
    };
    for await (const item of log) {
      if (!isEvent(item)) continue;
      if (types && !types.has(decodeType(item))) continue;
      if (streamPrefix !== undefined && !decodeStreamId(item).startsWith(streamPrefix)) continue;
      batch.push(item);
      if (batch.length < Math.min(100, maxCount - yielded)) continue;
      for await (const event of release(this.#ctx)) {
        yield event;
        if (++yielded >= maxCount) return;
      }
    }
    if (batch.length === 0) return;
    for await (const event of release(this.#ctx)) {
      yield event;
      if (++yielded >= maxCount) return;
    }
  }

  protected override async _streamVersion(id: string): Promise<number> {
    await this.#ensureReady();
    const view = await readView(this.#ctx, id, 0, 'streamVersion');
    if (view.tombstoned) throw new StreamDeletedError(id);
    return view.version;
  }

  /** An erasure stops between rounds once the store closes or the call's deadline passes; its marker keeps the rest. */
  #lifecycleDeps(call: CallContext): lifecycle.LifecycleDeps {
    return { ctx: this.#ctx, heads: this.#heads, closing: () => this.closing || call.signal.aborted };
  }

  protected override async _deleteStream(
    prepared: PreparedDeleteStream,
    call: CallContext,
  ): Promise<DeleteStreamResult> {
    await this.#ensureReady();
    return this.#lanes.run(prepared.streamId, () =>
      lifecycle.deleteStream(this.#lifecycleDeps(call), prepared),
    );
  }

  protected override async _truncateStream(
    prepared: PreparedTruncateStream,
    call: CallContext,
  ): Promise<void> {
    await this.#ensureReady();
    return this.#lanes.run(prepared.streamId, () =>
      lifecycle.truncateStream(this.#lifecycleDeps(call), prepared),
    );
  }

  protected override async _getStreamMetadata(streamId: string): Promise<StreamMetadataResult> {
    await this.#ensureReady();
    return lifecycle.getStreamMetadata(this.#ctx, streamId);
  }

  protected override async _setStreamMetadata(
    prepared: PreparedSetStreamMetadata,
    call: CallContext,
  ): Promise<{ metadataVersion: number }> {
    await this.#ensureReady();
    return this.#lanes.run(prepared.streamId, () =>
      lifecycle.setStreamMetadata(this.#lifecycleDeps(call), prepared),
    );
  }

  protected override async _enforceRetention(call: CallContext): Promise<RetentionResult> {
    await this.#ensureReady();
    return lifecycle.enforceRetention(this.#lifecycleDeps(call));
  }

  protected override async _saveSnapshot(p: PreparedSnapshot, call: CallContext): Promise<void> {
    await this.#ensureReady();
    await saveSnapshot(this.#ctx, p, call);
  }

  protected override async _loadSnapshot(streamId: string, call: CallContext): Promise<Snapshot | null> {
    await this.#ensureReady();
    return loadSnapshot(this.#ctx, streamId, call);
  }

  protected override async _loadCheckpoint(name: string): Promise<bigint | undefined> {
    await this.#ensureReady();
    return subscriptions.loadCheckpoint(this.#ctx, name);
  }

  protected override async _saveCheckpoint(name: string, position: bigint): Promise<void> {
    await this.#ensureReady();
    await subscriptions.saveCheckpoint(this.#ctx, name, position);
  }

  protected override async _deleteCheckpoint(name: string): Promise<void> {
    await this.#ensureReady();
    await subscriptions.deleteCheckpoint(this.#ctx, name);
  }

  /** A lease item per name, taken and renewed with a conditional PutItem. */
  protected override async _acquireLease(name: string, owner: string, ttlMs: number): Promise<boolean> {
    await this.#ensureReady();
    return subscriptions.acquireLease(this.#ctx, name, owner, ttlMs);
  }

  protected override async _releaseLease(name: string, owner: string): Promise<void> {
    await subscriptions.releaseLease(this.#ctx, name, owner);
  }

  protected override async _lastPosition(): Promise<bigint> {
    await this.#ensureReady();
    return subscriptions.lastPosition(this.#ctx, { holeTimeoutMs: this.#holeTimeoutMs, holes: this.#holes });
  }

  /**
   * Polling the global log, adaptively: 20 ms after a read that found nothing, doubling to 500 ms while nothing
   * comes. An empty read is a Query of the log index and a GetItem of the counter, so an idle subscription costs
   * 4 requests per second (bench/results/subscriptions.md measures the latency this buys).
   */
  protected override _pollDelayMs(idleRounds: number): number {
    return Math.min(500, 20 * 2 ** Math.min(idleRounds, 5));
  }

  /**
   * The handler receives the checkpoint's Put and the lease's ConditionCheck (see
   * {@link subscriptions.DynamoDBSubscriptionTransaction}) for its own TransactWriteItems; when it never reads
   * them, the checkpoint is saved here after it returns.
   */
  protected override async _runTransactional(
    name: string,
    owner: string,
    position: bigint,
    run: (tx: unknown) => Promise<void>,
  ): Promise<boolean> {
    await this.#ensureReady();
    const items = [
      subscriptions.checkpointPut(this.#ctx, name, position),
      subscriptions.leaseCheck(this.#ctx, name, owner),
    ];
    let taken = false;
    const tx: subscriptions.DynamoDBSubscriptionTransaction = {
      get items() {
        taken = true;
        return items;
      },
    };
    await run(tx);
    if (!taken) await subscriptions.saveCheckpoint(this.#ctx, name, position);
    return true;
  }

  /** Runs once every accepted call has settled: lets the committer finish, then destroys the client if the store built it. */
  protected override async _close(): Promise<void> {
    try {
      await this.#committer.drained();
    } finally {
      if (this.#ownsClient) this.#ctx.client.destroy();
    }
  }
}
