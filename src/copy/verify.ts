import { createHash, type Hash } from 'node:crypto';
import type { EventStore, RecordedEvent } from '../contract/index.js';
import { canonical } from './canonical.js';
import { portableMetadata } from './copy-metadata.js';

/** One stream's summary: its event count and a hash of its events in version order. */
export interface StreamDigest {
  events: number;
  /** Hex SHA-256 over each event's id, version, type, data, metadata and createdAt (not its position). */
  hash: string;
  /**
   * The stream's metadata as a copy carries it (retention and custom keys, canonical JSON; `truncateBefore` shows in
   * the versions the hash covers), or `undefined` on a store without the lifecycle, which compares as `{}`.
   */
  metadata?: string;
}

/** A whole store's summary, per stream. */
export interface StoreDigest {
  events: number;
  streams: Map<string, StreamDigest>;
}

/** Metadata reads in flight at once while digesting. */
const CONCURRENCY = 8;

function feed(hash: Hash, e: RecordedEvent): void {
  hash.update(
    `${e.id}\u0000${e.version}\u0000${e.type}\u0000${canonical(e.data)}\u0000${canonical(e.metadata)}\u0000${e.createdAt.getTime()}\u0001`,
  );
}

/**
 * Reads every event of `store` once and summarises each stream, with its metadata when the store has the lifecycle
 * (one `getStreamMetadata` per stream). Keeps one hash per stream in memory.
 */
export async function digestStore(
  store: EventStore,
  onEvent?: (events: number) => void,
): Promise<StoreDigest> {
  const hashes = new Map<string, { events: number; hash: Hash }>();
  let events = 0;
  for await (const e of store.readAll()) {
    let h = hashes.get(e.streamId);
    if (h === undefined) {
      h = { events: 0, hash: createHash('sha256') };
      hashes.set(e.streamId, h);
    }
    h.events++;
    feed(h.hash, e);
    events++;
    if (onEvent !== undefined && events % 1000 === 0) onEvent(events);
  }
  const streams = new Map<string, StreamDigest>();
  for (const [id, h] of hashes) streams.set(id, { events: h.events, hash: h.hash.digest('hex') });
  if (store.capabilities.lifecycle === true) {
    const pending = [...streams.entries()];
    const worker = async (): Promise<void> => {
      for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
        next[1].metadata = portableMetadata((await store.getStreamMetadata(next[0])).metadata);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  }
  return { events, streams };
}

/** A stream whose summary differs between two stores. */
export interface StreamMismatch {
  streamId: string;
  source: StreamDigest | undefined;
  target: StreamDigest | undefined;
}

export interface VerifyResult {
  ok: boolean;
  sourceEvents: number;
  targetEvents: number;
  sourceStreams: number;
  targetStreams: number;
  /** Every stream that differs: missing on one side, another count, another hash or other metadata. */
  mismatches: StreamMismatch[];
}

const NO_METADATA = portableMetadata({});

function sameStream(s: StreamDigest, t: StreamDigest): boolean {
  return (
    t.events === s.events && t.hash === s.hash && (t.metadata ?? NO_METADATA) === (s.metadata ?? NO_METADATA)
  );
}

/** Compares two summaries stream by stream. */
export function compareDigests(source: StoreDigest, target: StoreDigest): VerifyResult {
  const mismatches: StreamMismatch[] = [];
  for (const [id, s] of source.streams) {
    const t = target.streams.get(id);
    if (t === undefined || !sameStream(s, t)) mismatches.push({ streamId: id, source: s, target: t });
  }
  for (const [id, t] of target.streams) {
    if (!source.streams.has(id)) mismatches.push({ streamId: id, source: undefined, target: t });
  }
  return {
    ok: mismatches.length === 0 && source.events === target.events,
    sourceEvents: source.events,
    targetEvents: target.events,
    sourceStreams: source.streams.size,
    targetStreams: target.streams.size,
    mismatches,
  };
}

/**
 * Whether `target` holds exactly the events of `source`, with the same stream metadata: counts, a per-stream hash
 * and each stream's metadata on both sides.
 */
export async function verifyCopy(source: EventStore, target: EventStore): Promise<VerifyResult> {
  const [s, t] = await Promise.all([digestStore(source), digestStore(target)]);
  return compareDigests(s, t);
}
