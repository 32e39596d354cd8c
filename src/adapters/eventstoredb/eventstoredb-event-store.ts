import {
  ANY,
  type AppendExpectedRevision,
  BACKWARDS,
  type AppendResult as ClientAppendResult,
  END,
  type EventData,
  type EventStoreDBClient,
  FORWARDS,
  NO_STREAM,
  STREAM_EXISTS,
  StreamNotFoundError,
} from '@eventstore/db-client';
import {
  BaseEventStore,
  type BaseEventStoreOptions,
  type PreparedAppend,
  type PreparedReadAll,
  type PreparedReadStream,
} from '../../adapter/index.js';
import {
  type AppendResult,
  type Capabilities,
  type RecordedEvent,
  WrongExpectedVersionError,
} from '../../contract/index.js';
import { toRecorded } from './convert.js';
import { mapError, versionOf } from './map-error.js';
import { encodePosition } from './position.js';
import { abandon, readAllEvents } from './read-all.js';

const encoder = new TextEncoder();

/** The server's default MaxAppendSize: 1 MiB of event data per append. */
export const DEFAULT_MAX_APPEND_BYTES = 1_048_576;

/**
 * How many recently written event ids the server remembers to recognise an `'any'`/`'stream_exists'` retry. The
 * server keeps them in one bounded cache for all streams (IndexWriter `_committedEvents`, capped at 8 MiB by
 * ESConsts.CommitedEventsMemCacheLimit at roughly 100 bytes an entry), so this counts events written to the whole
 * database, not per stream.
 */
export const DEFAULT_IDEMPOTENCY_WINDOW = 50_000;

export interface EventStoreDBEventStoreOptions extends BaseEventStoreOptions {
  /** The server's MaxAppendSize, if it was configured away from the default 1 MiB. */
  maxAppendBytes?: number;
  /** Overrides the declared idempotency window (see {@link DEFAULT_IDEMPOTENCY_WINDOW}). */
  idempotencyWindow?: number;
}

function toExpectedRevision(expected: PreparedAppend['expectedVersion']): AppendExpectedRevision {
  if (expected === 'any') return ANY;
  if (expected === 'stream_exists') return STREAM_EXISTS;
  return expected === 0 ? NO_STREAM : BigInt(expected - 1);
}

/**
 * The EventStore contract on EventStoreDB/KurrentDB through `@eventstore/db-client`. Version v is revision v − 1.
 * Concurrency and idempotency are the server's own (its expected-revision check and id-based retry detection), with
 * one guard the contract needs on top: see {@link EventStoreDBEventStore.append}.
 */
export class EventStoreDBEventStore extends BaseEventStore {
  readonly capabilities: Capabilities;
  readonly #client: EventStoreDBClient;
  readonly #ownsClient: boolean;

  constructor(client: EventStoreDBClient, options: EventStoreDBEventStoreOptions = {}, ownsClient = false) {
    super(options);
    this.#client = client;
    this.#ownsClient = ownsClient;
    const maxAppend = options.maxAppendBytes ?? DEFAULT_MAX_APPEND_BYTES;
    this.capabilities = Object.freeze({
      maxEventsPerAppend: Number.POSITIVE_INFINITY,
      maxEventBytes: maxAppend,
      maxAppendBytes: maxAppend,
      idempotencyWindow: options.idempotencyWindow ?? DEFAULT_IDEMPOTENCY_WINDOW,
    });
  }

  /**
   * Appends through the server's Append call. An empty batch never reaches the server (it would write an empty
   * record): its expected version is checked against {@link streamVersion}.
   *
   * The server recognises an `'any'`/`'stream_exists'` retry when every id of the batch is among the stream's recent
   * ids, without checking that they are consecutive (IndexWriter.CheckCommit). The contract wants them to be the
   * events that follow the first one, so when a batch of several caller-supplied ids comes back, the events that
   * end at the reported revision are read back and compared; a mismatch means nothing was written, and is
   * WRONG_EXPECTED_VERSION.
   */
  protected async _append(prepared: PreparedAppend): Promise<AppendResult> {
    if (prepared.events.length === 0) return this.#emptyAppend(prepared);
    const ctx = {
      streamId: prepared.streamId,
      expectedVersion: prepared.requestedExpectedVersion,
      eventCount: prepared.events.length,
      bytes: prepared.bytes,
    };
    const data = prepared.events.map(
      (e) =>
        ({
          id: e.id,
          contentType: 'application/json',
          type: e.type,
          data: JSON.parse(e.dataJson),
          // A plain Uint8Array: the client sends it as is (a Buffer would be JSON-encoded as an object).
          metadata: encoder.encode(e.metadataJson),
        }) as EventData,
    );
    let result: ClientAppendResult;
    try {
      result = await this.#client.appendToStream(prepared.streamId, data, {
        expectedRevision: toExpectedRevision(prepared.expectedVersion),
      });
    } catch (err) {
      throw mapError(err, ctx);
    }
    const revision = result.nextExpectedRevision;
    if (!result.success) {
      throw new WrongExpectedVersionError(
        prepared.streamId,
        prepared.requestedExpectedVersion,
        versionOf(revision < 0n ? 'no_stream' : revision),
      );
    }
    const n = prepared.events.length;
    const mayBeLooseRetry =
      typeof prepared.expectedVersion !== 'number' && n > 1 && prepared.events[0]!.idSupplied;
    if (mayBeLooseRetry || !result.position) {
      const tail = await this.#readBack(prepared.streamId, revision, n);
      if (tail.some((e, k) => e.id !== prepared.events[k]!.id)) {
        throw new WrongExpectedVersionError(prepared.streamId, prepared.requestedExpectedVersion, undefined, {
          reason: 'the event ids match earlier events that are not consecutive',
        });
      }
      return { nextExpectedVersion: Number(revision) + 1, lastPosition: tail.at(-1)!.position };
    }
    return { nextExpectedVersion: Number(revision) + 1, lastPosition: encodePosition(result.position) };
  }

  /** The `n` events that end at `lastRevision`, in version order. */
  async #readBack(streamId: string, lastRevision: bigint, n: number): Promise<RecordedEvent[]> {
    const out: RecordedEvent[] = [];
    try {
      for await (const e of this.#client.readStream(streamId, {
        direction: BACKWARDS,
        fromRevision: lastRevision,
        maxCount: n,
      })) {
        out.push(toRecorded(e));
      }
    } catch (err) {
      throw mapError(err, { streamId });
    }
    return out.reverse();
  }

  async #emptyAppend(prepared: PreparedAppend): Promise<AppendResult> {
    const version = await this._streamVersion(prepared.streamId);
    const expected = prepared.expectedVersion;
    const ok = expected === 'any' || (expected === 'stream_exists' ? version > 0 : expected === version);
    if (!ok) {
      throw new WrongExpectedVersionError(prepared.streamId, prepared.requestedExpectedVersion, version);
    }
    return { nextExpectedVersion: version, lastPosition: null };
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
    try {
      for await (const e of read.iterator({ destroyOnReturn: false })) yield toRecorded(e);
      done = true;
    } catch (err) {
      if (err instanceof StreamNotFoundError) {
        done = true;
        return;
      }
      throw mapError(err, { streamId: q.streamId });
    } finally {
      if (!done) await abandon(read);
    }
  }

  protected _readAll(q: PreparedReadAll): AsyncIterable<RecordedEvent> {
    return readAllEvents(this.#client, q);
  }

  protected override async _streamVersion(id: string): Promise<number> {
    try {
      // Read to the end of the call (one event) rather than leave the loop early: an abandoned call never finishes,
      // and the client's dispose() waits for every call it started.
      let version = 0;
      for await (const e of this.#client.readStream(id, {
        direction: BACKWARDS,
        fromRevision: END,
        maxCount: 1,
      })) {
        version = Number(e.event!.revision) + 1;
      }
      return version;
    } catch (err) {
      if (err instanceof StreamNotFoundError) return 0;
      throw mapError(err, { streamId: id });
    }
  }

  /** Runs once every accepted call has settled and every read has been cancelled, so dispose() has none to wait for. */
  protected override async _close(): Promise<void> {
    if (this.#ownsClient) await this.#client.dispose();
  }
}
