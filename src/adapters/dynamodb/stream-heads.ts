/** What this store has seen of a stream's end: the last version, its position, and the ids just before it. */
export interface StreamHead {
  version: number;
  position: bigint;
  /** Ids of the events at versions `version - ids.length + 1 .. version`, oldest first. */
  ids: string[];
}

/**
 * Facts this store has seen about streams' ends, most recently used kept. Events are immutable, and an erased event
 * keeps its key, version and position as a stub, so a fact about a key never turns false (unless the backend loses
 * writes it acknowledged: see `clear`); it can only fall behind
 * the stream (a delete or truncation only hides ids, which is why the append decides from a head only to write). The append uses it to skip work that a stale fact
 * cannot make wrong: the in-transaction check that the base event exists before the new range (a fact proves it),
 * and the read of the idempotency window before an 'any' append (if the stream moved on, the transaction fails and
 * the append reads after all).
 */
export class StreamHeads {
  readonly #map = new Map<string, StreamHead>();
  readonly #capacity: number;
  readonly #window: number;
  #epoch = 0;

  constructor(capacity: number, window: number) {
    this.#capacity = capacity;
    this.#window = window;
  }

  get(streamId: string): StreamHead | undefined {
    return this.#map.get(streamId);
  }

  /** True when the head's ids cover the whole idempotency window (or the whole stream, when shorter). */
  coversWindow(head: StreamHead): boolean {
    return head.ids.length >= Math.min(this.#window, head.version);
  }

  /** Drops what is known of the stream: its ids after a delete or truncation by this store. */
  forget(streamId: string): void {
    this.#map.delete(streamId);
  }

  /**
   * Forgets every stream, after a request failed with an unknown outcome or a lost connection: the backend may have
   * restarted, and DynamoDB Local killed with SIGKILL loses transactions it acknowledged just before. A fact
   * remembered from such an acknowledgement would let the next append skip the check of an event that is gone and
   * write past it, leaving a gap in the stream's versions; forgotten, the append checks the base event again.
   */
  clear(): void {
    this.#map.clear();
    this.#epoch++;
  }

  /**
   * Bumped by `clear()`. Take it before the request a fact comes from and hand it to `record`: a fact whose request
   * was in flight when the store forgot everything is not recorded.
   */
  get epoch(): number {
    return this.#epoch;
  }

  /**
   * Records the stream's end at `version`; `ids` are the ids up to it, oldest first. `epoch` is `this.epoch` as it was
   * before the request the fact comes from; nothing is recorded when the store has forgotten everything since.
   */
  record(streamId: string, version: number, position: bigint, ids: readonly string[], epoch: number): void {
    if (epoch !== this.#epoch) return;
    const old = this.#map.get(streamId);
    if (old && old.version > version) return;
    let known = ids.slice(-this.#window);
    // Extend what was known when the new ids continue it.
    if (old && old.version === version - ids.length && known.length < this.#window) {
      known = [...old.ids, ...ids].slice(-this.#window);
    } else if (old && old.version === version && old.ids.length > known.length) {
      known = old.ids;
    }
    this.#map.delete(streamId);
    this.#map.set(streamId, { version, position, ids: known });
    if (this.#map.size > this.#capacity) this.#map.delete(this.#map.keys().next().value!);
  }
}
