import { createHash, type Hash } from 'node:crypto';
import type { EventStore, JsonValue, RecordedEvent } from '../contract/index.js';

/** One stream's summary: its event count and a hash of its events in version order. */
export interface StreamDigest {
  events: number;
  /** Hex SHA-256 over each event's id, version, type, data, metadata and createdAt (not its position). */
  hash: string;
}

/** A whole store's summary, per stream. */
export interface StoreDigest {
  events: number;
  streams: Map<string, StreamDigest>;
}

/** JSON with object keys sorted, so that two backends that keep key order differently hash alike. */
function canonical(value: JsonValue): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k]!)}`).join(',')}}`;
}

function feed(hash: Hash, e: RecordedEvent): void {
  hash.update(
    `${e.id}\u0000${e.version}\u0000${e.type}\u0000${canonical(e.data)}\u0000${canonical(e.metadata)}\u0000${e.createdAt.getTime()}\u0001`,
  );
}

/** Reads every event of `store` once and summarises each stream. Keeps one hash per stream in memory. */
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
  /** Every stream that differs: missing on one side, another count, or another hash. */
  mismatches: StreamMismatch[];
}

/** Compares two summaries stream by stream. */
export function compareDigests(source: StoreDigest, target: StoreDigest): VerifyResult {
  const mismatches: StreamMismatch[] = [];
  for (const [id, s] of source.streams) {
    const t = target.streams.get(id);
    if (t === undefined || t.events !== s.events || t.hash !== s.hash)
      mismatches.push({ streamId: id, source: s, target: t });
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

/** Whether `target` holds exactly the events of `source`: counts and a per-stream hash on both sides. */
export async function verifyCopy(source: EventStore, target: EventStore): Promise<VerifyResult> {
  const [s, t] = await Promise.all([digestStore(source), digestStore(target)]);
  return compareDigests(s, t);
}
