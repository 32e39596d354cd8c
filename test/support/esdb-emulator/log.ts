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
  /** Every event the index holds, hidden or not (metadata hides events from reads, never from the index). */
  events: LogEvent[];
  /** The stream's metadata, from the last `$metadata` event of `$$stream` (`{}` when none). */
  metadata: StreamMetadata;
  tombstoned: boolean;
}

/** The parts of stream metadata (SystemMetadata: `$tb`, `$maxCount`, `$maxAge`) that hide events from reads. */
export interface StreamMetadata {
  truncateBefore?: bigint;
  maxCount?: number;
  /** Seconds. */
  maxAge?: number;
  /** The whole JSON document, so a soft delete or re-creation can rewrite `$tb` and keep the rest. */
  raw: Record<string, unknown>;
}

/** Metadata JSON with `$tb` set to `tb` and every other property kept (a double cannot carry long.MaxValue). */
export function withTruncateBefore(metadata: StreamMetadata, tb: bigint): Uint8Array {
  const { $tb: _, ...rest } = metadata.raw;
  const others = JSON.stringify(rest).slice(1, -1);
  return Buffer.from(`{${others}${others ? ',' : ''}"$tb":${tb.toString()}}`, 'utf8');
}

/** `$tb` of a soft-deleted stream: EventNumber.DeletedStream (long.MaxValue). */
export const SOFT_DELETED_TB = 9223372036854775807n;

function parseMetadata(data: Uint8Array): StreamMetadata {
  let raw: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(Buffer.from(data).toString('utf8'));
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
      raw = parsed as Record<string, unknown>;
  } catch {
    // The server ignores metadata it cannot parse (StreamMetadata.TryFromJsonBytes): nothing is hidden.
  }
  const int = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined);
  // `$tb` can be long.MaxValue, past a double's precision: read its digits from the text.
  const tb = /"\$tb"\s*:\s*(\d+)/.exec(Buffer.from(data).toString('utf8'))?.[1];
  return {
    raw,
    ...(tb !== undefined && typeof raw.$tb === 'number' ? { truncateBefore: BigInt(tb) } : {}),
    ...(int(raw.$maxCount) !== undefined ? { maxCount: int(raw.$maxCount)! } : {}),
    ...(int(raw.$maxAge) !== undefined ? { maxAge: int(raw.$maxAge)! } : {}),
  };
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
 * The recent-id cache that recognises retries with ANY/STREAM_EXISTS, after IndexWriter `_committedEvents`
 * (kurrent-io/KurrentDB, src/KurrentDB.Core/Services/Storage/ReaderIndex/IndexWriter.cs): a BoundedCache shared by
 * every stream (system and projection writes included) and bounded by an estimate of its memory,
 * ESConsts.CommittedEventsMemCacheLimit (8 MiB), not by a count. Each entry is estimated at 16 + 4 + pointer size
 * + the stream name's in-memory size, so the cache holds about 110,000 ids for 10-character stream names, 46,600
 * at 64 characters and 33,000 at 100. An id already present keeps its *first* stream and event number (the
 * writer adds only ids it has not seen), and the oldest insertion is evicted first. It lives in the leader's memory
 * only: a restart (or a new leader) starts it empty.
 */
export class RecentIdCache {
  readonly #budget: number;
  readonly #map = new Map<string, { streamId: string; revision: bigint; bytes: number }>();
  #bytes = 0;

  constructor(budgetBytes: number) {
    this.#budget = budgetBytes;
  }

  /** The estimated size of one entry: key, event number and pointer, plus a .NET string of the stream name. */
  static entryBytes(streamId: string): number {
    const stringObject = Math.ceil((22 + 2 * streamId.length) / 8) * 8;
    return 16 + 4 + 8 + stringObject;
  }

  add(id: string, streamId: string, revision: bigint): void {
    if (this.#map.has(id)) return;
    const bytes = RecentIdCache.entryBytes(streamId);
    this.#map.set(id, { streamId, revision, bytes });
    this.#bytes += bytes;
    while (this.#bytes > this.#budget && this.#map.size > 0) {
      const [oldest, entry] = this.#map.entries().next().value!;
      this.#map.delete(oldest);
      this.#bytes -= entry.bytes;
    }
  }

  get(id: string): { streamId: string; revision: bigint } | undefined {
    return this.#map.get(id);
  }

  get size(): number {
    return this.#map.size;
  }

  /** What a restart does to it. */
  clear(): void {
    this.#map.clear();
    this.#bytes = 0;
  }
}

export interface TransactionLogOptions {
  layout?: PositionLayout;
  /** The recent-id cache's memory budget (default 8 MiB, ESConsts.CommittedEventsMemCacheLimit). */
  idCacheBytes?: number;
}

/** ESConsts.CommittedEventsMemCacheLimit. */
export const ID_CACHE_BYTES = 8 * 1024 * 1024;

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
    this.idCache = new RecentIdCache(options.idCacheBytes ?? ID_CACHE_BYTES);
  }

  /** The writer checkpoint: where the next record starts. */
  get end(): number {
    return this.#writer;
  }

  stream(streamId: string): StreamState | undefined {
    return this.streams.get(streamId);
  }

  /**
   * The stream's last event number as the index knows it (IndexWriter.GetStreamLastEventNumber): metadata never
   * hides it, so a soft-deleted stream keeps its last revision. -1n when it has no events.
   */
  lastRevision(streamId: string): bigint {
    const s = this.streams.get(streamId);
    if (!s || s.events.length === 0) return -1n;
    return s.events[s.events.length - 1]!.revision;
  }

  /** A soft-deleted stream: its metadata's `$tb` is EventNumber.DeletedStream (IndexWriter.IsSoftDeleted). */
  isSoftDeleted(streamId: string): boolean {
    return this.streams.get(streamId)?.metadata.truncateBefore === SOFT_DELETED_TB;
  }

  /**
   * The events a stream read returns: the metadata's `$tb`, `$maxCount` and `$maxAge` applied (IndexReader
   * reads through the stream's metadata). $all reads are not filtered by stream metadata.
   */
  visibleEvents(streamId: string, nowMs = Date.now()): LogEvent[] {
    const s = this.streams.get(streamId);
    if (!s) return [];
    const { truncateBefore, maxAge } = s.metadata;
    // A metastream keeps its last event only (the read index's metastreamMaxCount, 1 unless configured).
    const maxCount = s.metadata.maxCount ?? (streamId.startsWith('$$') ? 1 : undefined);
    let events = s.events;
    if (truncateBefore !== undefined) events = events.filter((e) => e.revision >= truncateBefore);
    if (maxCount !== undefined) events = events.slice(Math.max(0, events.length - maxCount));
    if (maxAge !== undefined) {
      const oldest = BigInt(nowMs - maxAge * 1000) * 10_000n;
      events = events.filter((e) => e.created >= oldest);
    }
    return events;
  }

  /** The state of `streamId`, created empty when the stream has never been written. */
  ensure(streamId: string): StreamState {
    let state = this.streams.get(streamId);
    if (!state) {
      state = { events: [], metadata: { raw: {} }, tombstoned: false };
      this.streams.set(streamId, state);
    }
    return state;
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
    const state = this.ensure(streamId);
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
      // A `$metadata` event in `$$stream` replaces the stream's metadata (the last one wins).
      if (streamId.startsWith('$$') && r.type === '$metadata') {
        this.ensure(streamId.slice(2)).metadata = parseMetadata(r.data);
      }
    }
    for (const r of records) for (const l of this.#listeners) l(r);
    return records;
  }

  /**
   * A scavenge, as far as the adapter's erasure depends on it: every record a stream read can no longer return is
   * removed from the log, its data with it, so neither a stream read nor $all nor a subscription finds it again
   * (TFChunkScavenger / the v22+ Scavenger: events of tombstoned streams except the tombstone, events below `$tb`,
   * past `$maxCount` or older than `$maxAge`, and a metastream's events but its last, or all of them when its
   * stream is tombstoned). The server scavenges completed chunks only and keeps the chunk being written (256 MiB)
   * as it is; the emulator has no chunks and scavenges everything. Returns how many records it removed.
   */
  scavenge(nowMs = Date.now()): number {
    const keep = new Set<LogEvent>();
    for (const [streamId, state] of this.streams) {
      const owner = streamId.startsWith('$$') ? this.streams.get(streamId.slice(2)) : undefined;
      const kept = state.tombstoned || owner?.tombstoned ? [] : this.visibleEvents(streamId, nowMs);
      state.events = state.events.filter((e) => kept.includes(e));
      for (const e of kept) keep.add(e);
    }
    const before = this.all.length;
    const survivors = this.all.filter((e) => keep.has(e) || e.revision === TOMBSTONE_REVISION);
    this.all.splice(0, this.all.length, ...survivors);
    return before - survivors.length;
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
