/**
 * The emulator's transaction log: an in-memory model of how EventStoreDB/KurrentDB lays events out in its log
 * and indexes them per stream. A test fixture, not a product.
 *
 * Layout (EventStore/EventStore, src/EventStore.Core/Services/Storage/StorageWriterService.cs, WritePrepares):
 * an append of n events writes n prepare records one after the other, each flagged `IsCommitted` (an "implicit
 * transaction"), the first `TransactionBegin`, the last `TransactionEnd`. A record's log position is the byte
 * offset where it starts; the next record starts at position + record size (`GetSizeWithLengthPrefixAndSuffix`).
 *
 * $all position (src/EventStore.Core/Services/Storage/ReaderIndex/AllReader.cs, ReadAllEventsForward): a prepare
 * flagged IsCommitted is "commit-alike" and is returned as `CommitEventRecord(eventRecord, prepare.LogPosition)`,
 * so with implicit transactions commit = prepare = the event's own log position. Explicit transactions (the legacy
 * TCP API) wrote the prepares first and a separate commit record after them; every event of such a transaction
 * shares the commit record's position as its commit position while its prepare position is its own record. The
 * `'explicit-commit'` layout reproduces that older shape so the adapter's {commit, prepare} encoding is exercised
 * with commit ≠ prepare too.
 */

/** Revision of a tombstone record (EventNumber.DeletedStream = long.MaxValue). */
export const TOMBSTONE_REVISION = 9223372036854775807n;

export type PositionLayout = 'implicit' | 'explicit-commit';

export interface LogEvent {
  streamId: string;
  /** Stream revision from 0; {@link TOMBSTONE_REVISION} for a tombstone. */
  revision: bigint;
  id: string;
  type: string;
  contentType: string;
  data: Uint8Array;
  customMetadata: Uint8Array;
  /** 100 ns ticks since the Unix epoch, as the server sends them in the `created` entry (ToTicksSinceEpoch). */
  created: bigint;
  commit: number;
  prepare: number;
}

export interface ProposedEvent {
  id: string;
  type: string;
  contentType: string;
  data: Uint8Array;
  customMetadata: Uint8Array;
}

export interface StreamState {
  events: LogEvent[];
  /** Revisions below this are hidden ($tb). Soft delete sets it past the end. */
  truncateBefore: bigint;
  softDeleted: boolean;
  tombstoned: boolean;
}

/** Fixed part of a prepare record (header, flags, ids, lengths) plus the 4-byte length prefix and suffix. */
const PREPARE_OVERHEAD = 8 + 85;
/** A commit record with its length prefix and suffix. */
const COMMIT_RECORD_SIZE = 8 + 45;
/** The log starts with an epoch record at 0, so no event is ever at position 0. */
const EPOCH_RECORD_SIZE = 8 + 122;

export function nowTicks(): bigint {
  return BigInt(Date.now()) * 10_000n;
}

function utf8(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

export type Listener = (event: LogEvent) => void;

/**
 * The recent-id cache that recognises retries with ANY/STREAM_EXISTS: the server keeps committed event ids in a
 * bounded cache (IndexWriter `_committedEvents`, a BoundedCache limited by ESConsts.CommitedEventsMemCacheLimit),
 * shared by all streams, oldest evicted first. Modelled here by entry count.
 */
export class RecentIdCache {
  readonly #capacity: number;
  readonly #map = new Map<string, { streamId: string; revision: bigint }>();

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  add(id: string, streamId: string, revision: bigint): void {
    this.#map.delete(id);
    this.#map.set(id, { streamId, revision });
    if (this.#map.size > this.#capacity) {
      const oldest = this.#map.keys().next().value;
      if (oldest !== undefined) this.#map.delete(oldest);
    }
  }

  get(id: string): { streamId: string; revision: bigint } | undefined {
    return this.#map.get(id);
  }
}

export interface TransactionLogOptions {
  layout?: PositionLayout;
  idCacheSize?: number;
}

export class TransactionLog {
  readonly layout: PositionLayout;
  readonly idCache: RecentIdCache;
  /** Every event record (including system events and tombstones) in $all order. */
  readonly all: LogEvent[] = [];
  readonly streams = new Map<string, StreamState>();
  /** Positions where a record starts: reading $all from anywhere else is an invalid position. */
  readonly recordStarts = new Set<number>([0]);
  #writer = EPOCH_RECORD_SIZE;
  #listeners = new Set<Listener>();

  constructor(options: TransactionLogOptions = {}) {
    this.layout = options.layout ?? 'implicit';
    this.idCache = new RecentIdCache(options.idCacheSize ?? 65_536);
  }

  /** The writer checkpoint: where the next record starts. */
  get end(): number {
    return this.#writer;
  }

  stream(streamId: string): StreamState | undefined {
    return this.streams.get(streamId);
  }

  /** The stream's last revision, or -1n when it has no (visible) events. */
  lastRevision(streamId: string): bigint {
    const s = this.streams.get(streamId);
    if (!s || s.events.length === 0 || s.softDeleted) return -1n;
    return s.events[s.events.length - 1]!.revision;
  }

  visibleEvents(streamId: string): LogEvent[] {
    const s = this.streams.get(streamId);
    if (!s || s.softDeleted) return [];
    return s.truncateBefore > 0n ? s.events.filter((e) => e.revision >= s.truncateBefore) : s.events;
  }

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Writes `events` to `streamId` at revisions `firstRevision`… as one transaction and returns the records. The
   * caller has already run the commit check.
   */
  write(streamId: string, firstRevision: bigint, events: ProposedEvent[]): LogEvent[] {
    let state = this.streams.get(streamId);
    if (!state) {
      state = { events: [], truncateBefore: 0n, softDeleted: false, tombstoned: false };
      this.streams.set(streamId, state);
    }
    const created = nowTicks();
    const records: LogEvent[] = [];
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      const prepare = this.#writer;
      this.recordStarts.add(prepare);
      this.#writer +=
        PREPARE_OVERHEAD + utf8(streamId) + utf8(e.type) + e.data.length + e.customMetadata.length;
      records.push({
        streamId,
        revision: firstRevision + BigInt(i),
        id: e.id,
        type: e.type,
        contentType: e.contentType,
        data: e.data,
        customMetadata: e.customMetadata,
        created,
        commit: prepare,
        prepare,
      });
    }
    if (this.layout === 'explicit-commit' && records.length > 0) {
      const commit = this.#writer;
      this.recordStarts.add(commit);
      this.#writer += COMMIT_RECORD_SIZE;
      for (const r of records) r.commit = commit;
    }
    for (const r of records) {
      if (r.revision !== TOMBSTONE_REVISION) {
        state.events.push(r);
        this.idCache.add(r.id, streamId, r.revision);
      }
      this.all.push(r);
    }
    for (const r of records) for (const l of this.#listeners) l(r);
    return records;
  }

  /** Index in {@link all} of the first event at or after (commit, prepare). */
  indexFrom(commit: number, prepare: number): number {
    let lo = 0;
    let hi = this.all.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const e = this.all[mid]!;
      if (e.commit < commit || (e.commit === commit && e.prepare < prepare)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
