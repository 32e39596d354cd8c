import {
  BaseEventStore,
  type BaseEventStoreOptions,
  decideAppend,
  type PreparedAppend,
  type PreparedReadAll,
  type PreparedReadStream,
} from '../../adapter/index.js';
import {
  type AppendResult,
  type Capabilities,
  type JsonObject,
  type JsonValue,
  MAX_EVENT_TYPE_BYTES,
  MAX_POSITION_INT64,
  type RecordedEvent,
  WrongExpectedVersionError,
} from '../../contract/index.js';

export interface MemoryEventStoreOptions extends BaseEventStoreOptions {
  /** Override the declared limits, e.g. to exercise `APPEND_TOO_LARGE` in tests. */
  limits?: Partial<Pick<Capabilities, 'maxEventsPerAppend' | 'maxEventBytes' | 'maxAppendBytes'>>;
}

/** What the store keeps per event: JSON text, so no caller can mutate a stored event through a reference. */
interface StoredEvent {
  id: string;
  streamId: string;
  type: string;
  dataJson: string;
  metadataJson: string;
  version: number;
  position: bigint;
  createdAt: number;
}

interface StoredStream {
  events: StoredEvent[];
  /** event id -> version, over the whole stream. */
  versionById: Map<string, number>;
}

const DEFAULT_LIMITS = {
  maxEventsPerAppend: Number.POSITIVE_INFINITY,
  maxEventBytes: 64 * 1024 * 1024,
  maxEventTypeBytes: MAX_EVENT_TYPE_BYTES,
  maxPosition: MAX_POSITION_INT64,
  maxAppendBytes: Number.POSITIVE_INFINITY,
};

function toRecorded(e: StoredEvent): RecordedEvent {
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
 * and an append is atomic because it runs synchronously once validated. The idempotency window is the whole
 * stream.
 */
export class MemoryEventStore extends BaseEventStore {
  readonly capabilities: Capabilities;
  #streams = new Map<string, StoredStream>();
  /** Every event in position order; the event at index i has position i + 1. */
  #log: StoredEvent[] = [];

  constructor(options: MemoryEventStoreOptions = {}) {
    super(options);
    this.capabilities = Object.freeze({
      ...DEFAULT_LIMITS,
      ...options.limits,
      idempotencyWindow: 'stream' as const,
    });
  }

  protected async _append(prepared: PreparedAppend): Promise<AppendResult> {
    const stream = this.#streams.get(prepared.streamId);
    const stored = stream?.events ?? [];
    const decision = decideAppend(prepared, {
      currentVersion: stored.length,
      idAt: (v) => stored[v - 1]?.id,
      versionOf: (id) => stream?.versionById.get(id),
    });
    switch (decision.kind) {
      case 'conflict':
        throw new WrongExpectedVersionError(
          prepared.streamId,
          prepared.requestedExpectedVersion,
          stored.length,
          {
            reason: decision.reason,
          },
        );
      case 'empty':
        return { nextExpectedVersion: stored.length, lastPosition: null };
      case 'duplicate':
        return {
          nextExpectedVersion: decision.lastVersion,
          lastPosition: stored[decision.lastVersion - 1]!.position,
        };
      case 'write':
        break;
    }
    const target = stream ?? { events: [], versionById: new Map<string, number>() };
    if (!stream) this.#streams.set(prepared.streamId, target);
    const createdAt = Date.now();
    for (const e of prepared.events) {
      const version = target.events.length + 1;
      const record: StoredEvent = {
        id: e.id,
        streamId: prepared.streamId,
        type: e.type,
        dataJson: e.dataJson,
        metadataJson: e.metadataJson,
        version,
        position: BigInt(this.#log.length + 1),
        createdAt,
      };
      target.events.push(record);
      target.versionById.set(e.id, version);
      this.#log.push(record);
    }
    return { nextExpectedVersion: target.events.length, lastPosition: BigInt(this.#log.length) };
  }

  protected async *_readStream(prepared: PreparedReadStream): AsyncIterable<RecordedEvent> {
    const { streamId, direction, fromVersion, maxCount } = prepared;
    const events = this.#streams.get(streamId)?.events ?? [];
    let yielded = 0;
    if (direction === 'forwards') {
      for (let v = Math.max(fromVersion ?? 1, 1); v <= events.length && yielded < maxCount; v++, yielded++) {
        yield toRecorded(events[v - 1]!);
      }
    } else {
      for (
        let v = Math.min(fromVersion ?? events.length, events.length);
        v >= 1 && yielded < maxCount;
        v--, yielded++
      ) {
        yield toRecorded(events[v - 1]!);
      }
    }
  }

  protected async *_readAll(prepared: PreparedReadAll): AsyncIterable<RecordedEvent> {
    const { after, maxCount, eventTypes, streamPrefix } = prepared;
    const types = eventTypes ? new Set(eventTypes) : undefined;
    let yielded = 0;
    // Positions are contiguous from 1, so the event after position p is at index p.
    for (
      let i = after > BigInt(this.#log.length) ? this.#log.length : Number(after);
      i < this.#log.length;
      i++
    ) {
      if (yielded >= maxCount) return;
      const e = this.#log[i]!;
      if (types && !types.has(e.type)) continue;
      if (streamPrefix !== undefined && !e.streamId.startsWith(streamPrefix)) continue;
      yielded++;
      yield toRecorded(e);
    }
  }

  protected override async _streamVersion(streamId: string): Promise<number> {
    return this.#streams.get(streamId)?.events.length ?? 0;
  }
}
