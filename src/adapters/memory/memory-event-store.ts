import {
  BaseEventStore,
  type BaseEventStoreOptions,
  decideAppend,
  expectedVersionHolds,
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
  type JsonObject,
  type JsonValue,
  MAX_EVENT_TYPE_BYTES,
  MAX_POSITION_INT64,
  type RecordedEvent,
  type RetentionResult,
  type Snapshot,
  StreamDeletedError,
  type StreamMetadataResult,
  WrongExpectedVersionError,
} from '../../contract/index.js';
import { MemoryStream } from './memory-stream.js';

export interface MemoryEventStoreOptions extends BaseEventStoreOptions {
  /** Override the declared limits, e.g. to exercise `APPEND_TOO_LARGE` in tests. */
  limits?: Partial<Pick<Capabilities, 'maxEventsPerAppend' | 'maxEventBytes' | 'maxAppendBytes'>>;
}

const DEFAULT_LIMITS = {
  maxEventsPerAppend: Number.POSITIVE_INFINITY,
  maxEventBytes: 64 * 1024 * 1024,
  maxEventTypeBytes: MAX_EVENT_TYPE_BYTES,
  maxPosition: MAX_POSITION_INT64,
  maxAppendBytes: Number.POSITIVE_INFINITY,
};

function toRecorded(e: MemoryStream['events'][number]): RecordedEvent {
  return {
    id: e.id,
    streamId: e.streamId,
    type: e.type,
    data: JSON.parse(e.dataJson) as JsonValue,
    metadata: JSON.parse(e.metadataJson) as JsonObject,
    version: e.version,
    position: e.position,
    createdAt: new Date(e.createdAt),
  };
}

/**
 * The reference implementation: every rule of the contract, in process memory. Positions are contiguous from 1,
 * and every call is atomic because it runs synchronously once validated. The idempotency window is the whole
 * stream.
 *
 * Lifecycle: a delete or truncation drops the events from the stream and the log at once (the only references to
 * their data, so the garbage collector frees it); retention hides events at once and `enforceRetention` drops them.
 * Snapshots are a map beside the streams, their state kept as JSON; a delete drops the stream's.
 */
export class MemoryEventStore extends BaseEventStore {
  readonly capabilities: Capabilities;
  #streams = new Map<string, MemoryStream>();
  /** Every event in position order; the event at index i has position i + 1. A removed event leaves a hole. */
  #log: Array<MemoryStream['events'][number] | undefined> = [];
  #snapshots = new Map<string, Omit<PreparedSnapshot, 'state' | 'streamId'>>();

  constructor(options: MemoryEventStoreOptions = {}) {
    super(options);
    this.capabilities = Object.freeze({
      ...DEFAULT_LIMITS,
      ...options.limits,
      idempotencyWindow: 'stream' as const,
      lifecycle: true,
      snapshots: true,
      preserveCreatedAt: true,
      importFirstVersion: true,
    });
  }

  /** The stream's state, STREAM_DELETED for a tombstone; `create` makes an empty one when there is none. */
  #stream(streamId: string, create: true): MemoryStream;
  #stream(streamId: string, create?: false): MemoryStream | undefined;
  #stream(streamId: string, create = false): MemoryStream | undefined {
    let stream = this.#streams.get(streamId);
    if (stream?.tombstoned) throw new StreamDeletedError(streamId);
    if (!stream && create) {
      stream = new MemoryStream();
      this.#streams.set(streamId, stream);
    }
    return stream;
  }

  /** Drops removed events from the log, so their data is referenced nowhere. */
  #forget(removed: MemoryStream['events']): number {
    for (const e of removed) this.#log[Number(e.position) - 1] = undefined;
    return removed.length;
  }

  protected async _append(prepared: PreparedAppend): Promise<AppendResult> {
    const stream = this.#stream(prepared.streamId);
    const now = Date.now();
    const decision = decideAppend(prepared, {
      currentVersion: stream?.version ?? 0,
      idAt: (v) => stream?.at(v)?.id,
      versionOf: (id) => stream?.versionOf(id),
      softDeleted: stream?.softDeleted ?? false,
    });
    switch (decision.kind) {
      case 'conflict':
        throw new WrongExpectedVersionError(
          prepared.streamId,
          prepared.requestedExpectedVersion,
          stream?.version ?? 0,
          { reason: decision.reason },
        );
      case 'empty':
        return { nextExpectedVersion: stream?.version ?? 0, lastPosition: null };
      case 'duplicate':
        return {
          nextExpectedVersion: decision.lastVersion,
          lastPosition: stream!.at(decision.lastVersion)!.position,
        };
      case 'write':
        break;
    }
    const target = this.#stream(prepared.streamId, true);
    if (prepared.firstVersion !== undefined && target.version === 0) target.startAt(prepared.firstVersion);
    target.softDeleted = false;
    for (const e of prepared.events) {
      const record = target.push({
        id: e.id,
        streamId: prepared.streamId,
        type: e.type,
        dataJson: e.dataJson,
        metadataJson: e.metadataJson,
        position: BigInt(this.#log.length + 1),
        createdAt: e.createdAt ?? now,
      });
      this.#log.push(record);
    }
    return { nextExpectedVersion: target.version, lastPosition: BigInt(this.#log.length) };
  }

  protected async *_readStream(prepared: PreparedReadStream): AsyncIterable<RecordedEvent> {
    const { streamId, direction, fromVersion, maxCount } = prepared;
    const stream = this.#stream(streamId);
    if (!stream) return;
    const visible = stream.visible(Date.now());
    const ordered = direction === 'forwards' ? visible : visible.reverse();
    let yielded = 0;
    for (const e of ordered) {
      if (yielded >= maxCount) return;
      if (
        fromVersion !== undefined &&
        (direction === 'forwards' ? e.version < fromVersion : e.version > fromVersion)
      ) {
        continue;
      }
      yielded++;
      yield toRecorded(e);
    }
  }

  protected async *_readAll(prepared: PreparedReadAll): AsyncIterable<RecordedEvent> {
    const { after, maxCount, eventTypes, streamPrefix } = prepared;
    const types = eventTypes ? new Set(eventTypes) : undefined;
    const now = Date.now();
    let yielded = 0;
    // Positions are contiguous from 1, so the event after position p is at index p.
    for (
      let i = after > BigInt(this.#log.length) ? this.#log.length : Number(after);
      i < this.#log.length;
      i++
    ) {
      if (yielded >= maxCount) return;
      const e = this.#log[i];
      if (!e) continue;
      if (types && !types.has(e.type)) continue;
      if (streamPrefix !== undefined && !e.streamId.startsWith(streamPrefix)) continue;
      if (!this.#streams.get(e.streamId)?.isVisible(e, now)) continue;
      yielded++;
      yield toRecorded(e);
    }
  }

  protected override async _lastPosition(): Promise<bigint> {
    return BigInt(this.#log.length);
  }

  protected override async _streamVersion(streamId: string): Promise<number> {
    return this.#stream(streamId)?.version ?? 0;
  }

  protected override async _deleteStream(p: PreparedDeleteStream): Promise<DeleteStreamResult> {
    const existing = this.#streams.get(p.streamId);
    if (existing?.tombstoned) {
      if (p.hard) return { version: existing.version };
      throw new StreamDeletedError(p.streamId);
    }
    const state = { version: existing?.version ?? 0, softDeleted: existing?.softDeleted ?? false };
    if (!expectedVersionHolds(p.expectedVersion, state)) {
      throw new WrongExpectedVersionError(p.streamId, p.expectedVersion, state.version, {
        reason: 'delete at a wrong expected version',
      });
    }
    const stream = this.#stream(p.streamId, true);
    this.#forget(stream.truncate(stream.version + 1));
    this.#snapshots.delete(p.streamId);
    if (p.hard) stream.tombstone();
    else if (stream.version > 0) stream.softDeleted = true;
    return { version: stream.version };
  }

  protected override async _truncateStream(p: PreparedTruncateStream): Promise<void> {
    const stream = this.#stream(p.streamId);
    const state = { version: stream?.version ?? 0, softDeleted: stream?.softDeleted ?? false };
    if (!expectedVersionHolds(p.expectedVersion, state)) {
      throw new WrongExpectedVersionError(p.streamId, p.expectedVersion, state.version, {
        reason: 'truncate at a wrong expected version',
      });
    }
    checkTruncateBefore(p.streamId, p.before, state.version, 'options.before');
    if (stream) this.#forget(stream.truncate(p.before));
  }

  protected override async _getStreamMetadata(streamId: string): Promise<StreamMetadataResult> {
    const stream = this.#stream(streamId);
    return stream
      ? { metadata: stream.metadata(), metadataVersion: stream.metadataVersion }
      : { metadata: {}, metadataVersion: 0 };
  }

  protected override async _setStreamMetadata(
    p: PreparedSetStreamMetadata,
  ): Promise<{ metadataVersion: number }> {
    const current = this.#stream(p.streamId);
    const version = current?.metadataVersion ?? 0;
    if (p.expectedMetadataVersion !== 'any' && p.expectedMetadataVersion !== version) {
      throw new WrongExpectedVersionError(p.streamId, p.expectedMetadataVersion, version, {
        reason: 'the stream metadata is at another version',
      });
    }
    const { truncateBefore } = p.metadata;
    if (truncateBefore !== undefined) {
      checkTruncateBefore(p.streamId, truncateBefore, current?.version ?? 0, 'metadata.truncateBefore');
      if (truncateBefore < (current?.truncateBefore ?? 1)) {
        throw new InvalidArgumentError(
          `Stream '${p.streamId}': metadata.truncateBefore ${truncateBefore} is below the stream's ${current?.truncateBefore}; a truncation cannot be undone`,
          { argument: 'metadata.truncateBefore', streamId: p.streamId },
        );
      }
    }
    const stream = this.#stream(p.streamId, true);
    this.#forget(stream.setMetadata(p.metadata));
    return { metadataVersion: stream.metadataVersion };
  }

  protected override async _saveSnapshot(p: PreparedSnapshot): Promise<void> {
    this.#stream(p.streamId);
    this.#snapshots.set(p.streamId, {
      stateJson: p.stateJson,
      version: p.version,
      schemaVersion: p.schemaVersion,
    });
  }

  protected override async _loadSnapshot(streamId: string): Promise<Snapshot | null> {
    this.#stream(streamId);
    const saved = this.#snapshots.get(streamId);
    if (!saved) return null;
    return {
      state: JSON.parse(saved.stateJson) as JsonValue,
      version: saved.version,
      schemaVersion: saved.schemaVersion,
    };
  }

  protected override async _enforceRetention(): Promise<RetentionResult> {
    const now = Date.now();
    let removedEvents = 0;
    for (const stream of this.#streams.values()) removedEvents += this.#forget(stream.dropExpired(now));
    return { removedEvents };
  }
}

/** `before` may be at most the stream's version + 1 (which truncates every event). */
function checkTruncateBefore(streamId: string, before: number, version: number, argument: string): void {
  if (before > version + 1) {
    throw new InvalidArgumentError(
      `Stream '${streamId}': ${argument} ${before} is past the stream's end (version ${version})`,
      { argument, streamId },
    );
  }
}
