import {
  BACKWARDS,
  END,
  type EventStoreDBClient,
  FORWARDS,
  StreamNotFoundError,
} from '@eventstore/db-client';
import {
  BaseEventStore,
  type BaseEventStoreOptions,
  expectedVersionHolds,
  type FollowItem,
  type PreparedAppend,
  type PreparedDeleteStream,
  type PreparedReadAll,
  type PreparedReadStream,
  type PreparedSetStreamMetadata,
  type PreparedSnapshot,
  type PreparedSubscribe,
  type PreparedTruncateStream,
} from '../../adapter/index.js';
import {
  type AppendResult,
  type Capabilities,
  type DeleteStreamResult,
  ErrorCodes,
  EventStoreError,
  type RecordedEvent,
  type RetentionResult,
  type Snapshot,
  type StreamMetadataResult,
  WrongExpectedVersionError,
} from '../../contract/index.js';
import { StreamLanes } from '../../internal/stream-lanes.js';
import { type AppendDeps, appendEvents, type IdempotencyMode } from './append.js';
import { toRecorded } from './convert.js';
import { PositionFinder } from './find-position.js';
import { followAll, followStream, lastRecord } from './follow.js';
import { startImport } from './import-start.js';
import {
  deleteStream,
  enforceRetention,
  getStreamMetadata,
  type LifecycleDeps,
  setStreamMetadata,
  truncateStream,
} from './lifecycle.js';
import { DEFAULT_MAX_APPEND_SIZE, declaredLimits, MAX_RECORD_SIZE } from './limits.js';
import { mapError } from './map-error.js';
import { encodePosition, hasLogPosition, MAX_POSITION } from './position.js';
import { abandon, readAllEvents } from './read-all.js';
import { loadSnapshot, saveSnapshot } from './snapshots.js';
import { StreamHeads } from './stream-heads.js';
import { streamState, streamVersion } from './stream-state.js';
import * as subscriptions from './subscriptions.js';

/** The server's MaxAppendSize up to v25.0: 1 MiB, counted the server's way (see limits.ts). */
export const DEFAULT_MAX_APPEND_BYTES = DEFAULT_MAX_APPEND_SIZE;

/**
 * How many of a stream's most recent events an `'any'`/`'stream_exists'` retry is recognised among, by default. The
 * adapter reads that many events when it has to decide (see {@link IdempotencyMode}), so the window is a cost per
 * read, not a cache the server can lose.
 */
export const DEFAULT_IDEMPOTENCY_WINDOW = 100;
/** The largest idempotency window the options accept (one read of that many events). */
export const MAX_IDEMPOTENCY_WINDOW = 10_000;

export interface EventStoreDBEventStoreOptions extends BaseEventStoreOptions {
  /** The server's MaxAppendSize, if configured away from 1 MiB (v25.1 and later: 256 MiB by default). */
  maxAppendSize?: number;
  /** The server's MaxAppendEventSize (v25.1 and later, 16 MiB by default). */
  maxAppendEventSize?: number;
  /** How many recent events per stream an `'any'` retry is recognised among (default 100, at most 10,000). */
  idempotencyWindow?: number;
  /** Who recognises an `'any'`/`'stream_exists'` retry: `'adapter'` (default) or `'server'` (see IdempotencyMode). */
  idempotency?: IdempotencyMode;
}

/**
 * The EventStore contract on EventStoreDB/KurrentDB through `@eventstore/db-client`. Version v is revision v − 1.
 * Optimistic concurrency is the server's expected-revision check; an `'any'`/`'stream_exists'` retry is recognised
 * by the adapter among the stream's recent events (see {@link IdempotencyMode}).
 */
export class EventStoreDBEventStore extends BaseEventStore {
  readonly capabilities: Capabilities;
  readonly #client: EventStoreDBClient;
  readonly #ownsClient: boolean;
  readonly #append: AppendDeps;
  readonly #lifecycle: LifecycleDeps;
  readonly #lanes = new StreamLanes();

  constructor(client: EventStoreDBClient, options: EventStoreDBEventStoreOptions = {}, ownsClient = false) {
    super(options);
    this.#client = client;
    this.#ownsClient = ownsClient;
    const limits = declaredLimits({
      maxAppendSize: options.maxAppendSize ?? DEFAULT_MAX_APPEND_SIZE,
      maxAppendEventSize: options.maxAppendEventSize ?? MAX_RECORD_SIZE,
    });
    const idempotency = options.idempotency ?? 'adapter';
    const window = options.idempotencyWindow ?? DEFAULT_IDEMPOTENCY_WINDOW;
    this.#append = { client, heads: new StreamHeads(10_000, window), window, idempotency };
    this.#lifecycle = { client, heads: this.#append.heads };
    this.capabilities = Object.freeze({
      maxEventsPerAppend: Number.POSITIVE_INFINITY,
      ...limits,
      // The server stores a type of any length: only the event's size bounds it.
      maxEventTypeBytes: limits.maxEventBytes,
      maxPosition: MAX_POSITION,
      // The server's cache guarantees nothing (a restart empties it).
      idempotencyWindow: idempotency === 'server' ? 0 : window,
      // The server's Delete, Tombstone and stream metadata, translated to the contract (docs/lifecycle.md).
      lifecycle: true,
      // One `$snapshot-<id>` stream per stream, with `$maxCount` 1 (see snapshots.ts).
      snapshots: true,
      preserveCreatedAt: true,
      // `$tb`, then placeholder events below it (import-start.ts).
      importFirstVersion: true,
    });
  }

  /**
   * Appends through the server's Append call. An exact expected version is checked, and a retry recognised, by the
   * server against its index. `'any'`/`'stream_exists'` are decided by the adapter (see {@link appendEvents}). An
   * empty batch never reaches the server (it would write an empty record): its expected version is checked against
   * {@link streamVersion}.
   */
  protected async _append(prepared: PreparedAppend): Promise<AppendResult> {
    if (prepared.events.length === 0) return this.#emptyAppend(prepared);
    if (prepared.firstVersion !== undefined) {
      await startImport(this.#append.client, prepared);
      const { firstVersion: _, ...append } = prepared;
      return appendEvents(this.#append, append);
    }
    if (typeof prepared.expectedVersion === 'number' || this.#append.idempotency === 'server') {
      return appendEvents(this.#append, prepared);
    }
    // 'any'/'stream_exists' decide from the stream's head: one at a time per stream in this store (see StreamLanes).
    return this.#lanes.run(prepared.streamId, () => appendEvents(this.#append, prepared));
  }

  async #emptyAppend(prepared: PreparedAppend): Promise<AppendResult> {
    const expected = prepared.expectedVersion;
    const state =
      expected === 'any'
        ? { version: await this._streamVersion(prepared.streamId), softDeleted: false }
        : await streamState(this.#client, prepared.streamId, {
            operation: 'append',
            streamId: prepared.streamId,
          });
    if (!expectedVersionHolds(expected, state)) {
      throw new WrongExpectedVersionError(
        prepared.streamId,
        prepared.requestedExpectedVersion,
        state.version,
      );
    }
    return { nextExpectedVersion: state.version, lastPosition: null };
  }

  protected async *_readStream(q: PreparedReadStream): AsyncIterable<RecordedEvent> {
    let fromRevision: bigint | typeof END;
    if (q.direction === 'forwards') fromRevision = BigInt(Math.max(q.fromVersion ?? 1, 1) - 1);
    else if (q.fromVersion === undefined) fromRevision = END;
    else if (q.fromVersion === 0) return;
    else fromRevision = BigInt(q.fromVersion - 1);
    const read = this.#client.readStream(q.streamId, {
      direction: q.direction === 'forwards' ? FORWARDS : BACKWARDS,
      fromRevision,
      ...(Number.isFinite(q.maxCount) ? { maxCount: q.maxCount } : {}),
    });
    let done = false;
    let finder: PositionFinder | undefined;
    try {
      for await (const e of read.iterator({ destroyOnReturn: false })) {
        const ev = e.event!;
        if (hasLogPosition(ev.position)) {
          yield toRecorded(e);
          continue;
        }
        // An event of an explicit transaction: the stream read has no position for it, $all has.
        finder ??= new PositionFinder(this.#client, q.streamId);
        const found = await finder.find(ev.id);
        if (!found) {
          throw new EventStoreError(
            ErrorCodes.BACKEND_ERROR,
            `EventStoreDB read event ${ev.id} of stream '${q.streamId}' without a log position, and $all does not have it`,
            { streamId: q.streamId },
          );
        }
        yield toRecorded(e, encodePosition(found));
      }
      done = true;
    } catch (err) {
      if (err instanceof StreamNotFoundError) {
        done = true;
        return;
      }
      throw mapError(err, { operation: 'readStream', streamId: q.streamId });
    } finally {
      if (!done) await abandon(read);
    }
  }

  protected _readAll(q: PreparedReadAll): AsyncIterable<RecordedEvent> {
    return readAllEvents(this.#client, q);
  }

  /** The last event's version as the server's index knows it (see {@link streamVersion}). */
  protected override _streamVersion(id: string): Promise<number> {
    return streamVersion(this.#client, id, { operation: 'streamVersion', streamId: id });
  }

  protected override _deleteStream(p: PreparedDeleteStream): Promise<DeleteStreamResult> {
    return deleteStream(this.#lifecycle, p);
  }

  protected override _truncateStream(p: PreparedTruncateStream): Promise<void> {
    return truncateStream(this.#lifecycle, p);
  }

  protected override _getStreamMetadata(streamId: string): Promise<StreamMetadataResult> {
    return getStreamMetadata(this.#lifecycle, streamId);
  }

  protected override _setStreamMetadata(p: PreparedSetStreamMetadata): Promise<{ metadataVersion: number }> {
    return setStreamMetadata(this.#lifecycle, p);
  }

  protected override _enforceRetention(): Promise<RetentionResult> {
    return enforceRetention(this.#lifecycle);
  }

  protected override _saveSnapshot(p: PreparedSnapshot): Promise<void> {
    return saveSnapshot(this.#client, p);
  }

  protected override _loadSnapshot(streamId: string): Promise<Snapshot | null> {
    return loadSnapshot(this.#client, streamId);
  }

  protected override _loadCheckpoint(name: string): Promise<bigint | undefined> {
    return subscriptions.loadCheckpoint(this.#client, name);
  }

  protected override _saveCheckpoint(name: string, position: bigint): Promise<void> {
    return subscriptions.saveCheckpoint(this.#client, name, position);
  }

  protected override _deleteCheckpoint(name: string): Promise<void> {
    return subscriptions.deleteCheckpoint(this.#client, name);
  }

  /** A lease stream per name, taken by an append at the revision read (see subscriptions.ts). */
  protected override _acquireLease(name: string, owner: string, ttlMs: number): Promise<boolean> {
    return subscriptions.acquireLease(this.#client, name, owner, ttlMs);
  }

  protected override _releaseLease(name: string, owner: string): Promise<void> {
    return subscriptions.releaseLease(this.#client, name, owner);
  }

  /**
   * Subscriptions are the server's own catch-up subscriptions, filtered on the server, with its CaughtUp and
   * checkpoint-reached messages (see follow.ts).
   */
  protected override _follow(
    after: bigint,
    prepared: PreparedSubscribe,
    signal: AbortSignal,
  ): AsyncIterable<FollowItem> {
    return prepared.stream === undefined
      ? followAll(this.#client, after, prepared, signal)
      : followStream(this.#client, prepared.stream, after, prepared, signal);
  }

  /**
   * The position of the log's last record, system events included: readAll and subscriptions after it return only
   * what is appended later, as after the last event readAll returns, and one backwards read of one record finds it.
   */
  protected override async _lastPosition(): Promise<bigint> {
    try {
      return (await lastRecord(this.#client))?.position ?? 0n;
    } catch (err) {
      throw mapError(err, { operation: 'subscribe' });
    }
  }

  /** Runs once every accepted call has settled and every read has been cancelled, so dispose() has none to wait for. */
  protected override async _close(): Promise<void> {
    if (this.#ownsClient) await this.#client.dispose();
  }
}
