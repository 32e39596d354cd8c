import type { EventStoreDBClient } from '@eventstore/db-client';
import { ErrorCodes, isEventStoreError } from '../../contract/index.js';
import type { PositionedEvent } from './read-all.js';
import { physicalTb, readMetadata, streamVersion } from './stream-state.js';

/** What hides a stream's events: everything (tombstone, soft delete), revisions below a floor, an age. */
interface Rule {
  hideAll: boolean;
  minRevision: bigint;
  maxAgeMs?: number;
  /** The metastream revision the rule was read at (undefined: no metadata, or the stream is tombstoned). */
  revision?: bigint;
  /** When it was read (Date.now()). */
  readAt: number;
}

/** Streams whose rule one readAll keeps at most; past that the cache starts over. */
const CACHE_LIMIT = 10_000;
/** Metadata reads in flight at once for one batch. */
const CONCURRENCY = 16;

/**
 * The server applies `$tb`, `$maxCount` and `$maxAge` (and deletion) to stream reads only: $all keeps every event
 * until a scavenge. The contract hides them from readAll at once, so readAll checks each event against its stream's
 * metadata, read once per stream per readAll call (and per batch of events, concurrently).
 *
 * A subscription keeps one Visibility for its whole life: a rule read once stays valid until the stream's metadata
 * changes, and the subscription sees each change in log order ({@link observe}); while it catches up it also reads a
 * rule again once it is `maxAgeMs` old, so that a change written meanwhile (which it will see only later in the
 * log) applies within that time.
 */
export class Visibility {
  readonly #client: EventStoreDBClient;
  readonly #operation: 'readAll' | 'subscribe';
  readonly #rules = new Map<string, Rule>();

  constructor(client: EventStoreDBClient, operation: 'readAll' | 'subscribe' = 'readAll') {
    this.#client = client;
    this.#operation = operation;
  }

  /**
   * Takes in an event of the log that may change a rule, in log order: a `$metadata` event of `$$<stream>` at a
   * metastream revision above the one a rule was read at makes the rule be read again (the current metadata, which
   * is at least as new), and a tombstone hides the whole stream.
   */
  observe(streamId: string, type: string, revision: bigint): void {
    if (type === '$streamDeleted') {
      this.#rules.set(streamId, { hideAll: true, minRevision: 0n, readAt: Date.now() });
      return;
    }
    if (type !== '$metadata' || !streamId.startsWith('$$')) return;
    const target = streamId.slice(2);
    const rule = this.#rules.get(target);
    if (rule && !(rule.hideAll && rule.revision === undefined) && (rule.revision ?? -1n) < revision) {
      this.#rules.delete(target);
    }
  }

  /** Reads the rules of the batch's streams not known yet, or read more than `maxAgeMs` ago. */
  async load(batch: readonly PositionedEvent[], maxAgeMs = Number.POSITIVE_INFINITY): Promise<void> {
    const now = Date.now();
    const missing = [...new Set(batch.map((e) => e.resolved.event!.streamId))].filter((id) => {
      const rule = this.#rules.get(id);
      return rule === undefined || now - rule.readAt > maxAgeMs;
    });
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
    const ctx = { operation: this.#operation, streamId };
    const readAt = Date.now();
    try {
      const meta = await readMetadata(this.#client, streamId, ctx);
      const tb = physicalTb(meta);
      const revision = meta.revision === undefined ? {} : { revision: meta.revision };
      if (tb === Number.POSITIVE_INFINITY) return { hideAll: true, minRevision: 0n, readAt, ...revision };
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
        readAt,
        ...revision,
        ...(typeof maxAge === 'number' && maxAge >= 0 ? { maxAgeMs: maxAge * 1000 } : {}),
      };
    } catch (err) {
      if (isEventStoreError(err, ErrorCodes.STREAM_DELETED))
        return { hideAll: true, minRevision: 0n, readAt };
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
