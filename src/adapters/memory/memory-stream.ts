import type { StreamMetadata } from '../../contract/index.js';

/** What the store keeps per event: JSON text, so no caller can mutate a stored event through a reference. */
export interface StoredEvent {
  id: string;
  streamId: string;
  type: string;
  dataJson: string;
  metadataJson: string;
  version: number;
  position: bigint;
  createdAt: number;
}

/**
 * One stream of the memory store: its stored events in version order (a truncation removes a prefix, so the
 * first stored event may be past version 1), its version, its metadata and lifecycle state. Retention (`maxCount`,
 * `maxAge`) is applied on every read, so a hidden event is gone for reads before `dropExpired` removes it.
 */
export class MemoryStream {
  events: StoredEvent[] = [];
  /** The last version written; deletes and truncations never lower it. */
  version = 0;
  softDeleted = false;
  tombstoned = false;
  /** Events below this version are gone. */
  truncateBefore = 1;
  metadataVersion = 0;
  #metadata: StreamMetadata = {};
  /** event id -> version, over the stored events. */
  #versionById = new Map<string, number>();

  push(e: Omit<StoredEvent, 'version'>): StoredEvent {
    this.version++;
    const record = { ...e, version: this.version };
    this.events.push(record);
    this.#versionById.set(e.id, this.version);
    return record;
  }

  isVisible(e: StoredEvent, now: number): boolean {
    const { maxCount, maxAge } = this.#metadata;
    if (e.version < this.truncateBefore) return false;
    if (maxCount !== undefined && e.version <= this.version - maxCount) return false;
    return maxAge === undefined || e.createdAt > now - maxAge * 1000;
  }

  visible(now: number): StoredEvent[] {
    return this.events.filter((e) => this.isVisible(e, now));
  }

  /**
   * The stored event at `version`, visible or not. Idempotency looks events up here: an event retention hides but
   * `dropExpired` has not removed yet may still be recognised by a retry, as on every backend (docs/lifecycle.md).
   */
  at(version: number): StoredEvent | undefined {
    // Stored versions are contiguous (removals take a prefix), so the index is an offset; find() covers the rest.
    const first = this.events[0];
    const e = first ? this.events[version - first.version] : undefined;
    return e && e.version === version ? e : this.events.find((x) => x.version === version);
  }

  /** The version of the stored event with this id, visible or not. */
  versionOf(id: string): number | undefined {
    return this.#versionById.get(id);
  }

  /** Removes the events below `before` (if above the current truncation) and returns them. */
  truncate(before: number): StoredEvent[] {
    if (before <= this.truncateBefore) return [];
    this.truncateBefore = before;
    return this.#remove((e) => e.version < before);
  }

  /** An import past version 1 into a stream without events: versions below `first` are gone, as truncated. */
  startAt(first: number): void {
    this.version = first - 1;
    this.truncateBefore = Math.max(this.truncateBefore, first);
  }

  tombstone(): void {
    this.tombstoned = true;
    this.softDeleted = false;
    this.#metadata = {};
  }

  /** Replaces the metadata (the truncation point only grows) and returns the events a new truncation removed. */
  setMetadata(metadata: StreamMetadata): StoredEvent[] {
    const { truncateBefore, ...rest } = metadata;
    this.#metadata = rest;
    this.metadataVersion++;
    return truncateBefore === undefined ? [] : this.truncate(truncateBefore);
  }

  metadata(): StreamMetadata {
    const out: StreamMetadata = { ...this.#metadata };
    if (this.truncateBefore > 1) out.truncateBefore = this.truncateBefore;
    if (out.custom) out.custom = structuredClone(out.custom);
    return out;
  }

  /** Removes the events retention hides and returns them. */
  dropExpired(now: number): StoredEvent[] {
    return this.#remove((e) => e.version >= this.truncateBefore && !this.isVisible(e, now));
  }

  #remove(gone: (e: StoredEvent) => boolean): StoredEvent[] {
    const removed = this.events.filter(gone);
    if (removed.length === 0) return removed;
    this.events = this.events.filter((e) => !gone(e));
    for (const e of removed) this.#versionById.delete(e.id);
    return removed;
  }
}
