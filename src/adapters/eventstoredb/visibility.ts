import type { EventStoreDBClient } from '@eventstore/db-client';
import { ErrorCodes, isEventStoreError } from '../../contract/index.js';
import type { PositionedEvent } from './read-all.js';
import { physicalTb, readMetadata, streamVersion } from './stream-state.js';

/** What hides a stream's events: everything (tombstone, soft delete), revisions below a floor, an age. */
interface Rule {
  hideAll: boolean;
  minRevision: bigint;
  maxAgeMs?: number;
}

/** Streams whose rule one readAll keeps at most; past that the cache starts over. */
const CACHE_LIMIT = 10_000;
/** Metadata reads in flight at once for one batch. */
const CONCURRENCY = 16;

/**
 * The server applies `$tb`, `$maxCount` and `$maxAge` (and deletion) to stream reads only: $all keeps every event
 * until a scavenge. The contract hides them from readAll at once, so readAll checks each event against its stream's
 * metadata, read once per stream per readAll call (and per batch of events, concurrently).
 */
export class Visibility {
  readonly #client: EventStoreDBClient;
  readonly #rules = new Map<string, Rule>();

  constructor(client: EventStoreDBClient) {
    this.#client = client;
  }

  /** Reads the rules of the batch's streams not known yet. */
  async load(batch: readonly PositionedEvent[]): Promise<void> {
    const missing = [...new Set(batch.map((e) => e.resolved.event!.streamId))].filter(
      (id) => !this.#rules.has(id),
    );
    if (this.#rules.size + missing.length > CACHE_LIMIT) this.#rules.clear();
    for (let i = 0; i < missing.length; i += CONCURRENCY) {
      const chunk = missing.slice(i, i + CONCURRENCY);
      const rules = await Promise.all(chunk.map((id) => this.#ruleOf(id)));
      for (const [k, id] of chunk.entries()) this.#rules.set(id, rules[k]!);
    }
  }

  visible(e: PositionedEvent, now = Date.now()): boolean {
    const ev = e.resolved.event!;
    const rule = this.#rules.get(ev.streamId);
    if (!rule) return true;
    if (rule.hideAll || ev.revision < rule.minRevision) return false;
    return rule.maxAgeMs === undefined || ev.created.getTime() > now - rule.maxAgeMs;
  }

  async #ruleOf(streamId: string): Promise<Rule> {
    const ctx = { operation: 'readAll' as const, streamId };
    try {
      const meta = await readMetadata(this.#client, streamId, ctx);
      const tb = physicalTb(meta);
      if (tb === Number.POSITIVE_INFINITY) return { hideAll: true, minRevision: 0n };
      let minRevision = BigInt(tb);
      const { $maxCount: maxCount, $maxAge: maxAge } = meta.raw;
      if (typeof maxCount === 'number' && maxCount >= 0) {
        const version = await streamVersion(this.#client, streamId, ctx);
        const floor = BigInt(Math.max(0, version - maxCount));
        if (floor > minRevision) minRevision = floor;
      }
      return {
        hideAll: false,
        minRevision,
        ...(typeof maxAge === 'number' && maxAge >= 0 ? { maxAgeMs: maxAge * 1000 } : {}),
      };
    } catch (err) {
      if (isEventStoreError(err, ErrorCodes.STREAM_DELETED)) return { hideAll: true, minRevision: 0n };
      throw err;
    }
  }
}

/**
 * The events of `source` that their streams' metadata leaves visible, in order. Reads ahead `size()` events at a
 * time so that the metadata of a batch's streams is read concurrently.
 */
export async function* visibleOnly(
  vis: Visibility,
  source: AsyncIterable<PositionedEvent> | Iterable<PositionedEvent>,
  size: () => number,
): AsyncGenerator<PositionedEvent> {
  let batch: PositionedEvent[] = [];
  const release = async function* () {
    await vis.load(batch);
    const now = Date.now();
    const out = batch.filter((e) => vis.visible(e, now));
    batch = [];
    yield* out;
  };
  for await (const e of source) {
    batch.push(e);
    if (batch.length >= Math.max(1, size())) yield* release();
  }
  if (batch.length > 0) yield* release();
}
