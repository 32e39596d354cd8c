/** What this store last saw of a stream's end: its version and the ids of its most recent events. */
export interface StreamHead {
  version: number;
  /** Ids of the events at versions `version - ids.length + 1 .. version`, oldest first. */
  ids: string[];
}

/**
 * Stream ends this store has seen (read or written), most recently used kept, so that an `'any'` append to a
 * stream this store wrote last can decide without reading the stream first. A head can fall behind the stream
 * (another writer appended since); it is only used to pick the revision to append at, and the server's
 * expected-revision check catches a head that fell behind.
 */
export class StreamHeads {
  readonly #map = new Map<string, StreamHead>();
  readonly #capacity: number;
  readonly #window: number;

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

  /** Records the stream's end at `version`, where `ids` are the ids of the events just before it, oldest first. */
  record(streamId: string, version: number, ids: readonly string[]): void {
    const old = this.#map.get(streamId);
    if (old && old.version > version) return;
    let known = ids.slice(-this.#window);
    if (old && old.version === version - ids.length && known.length < this.#window) {
      known = [...old.ids, ...ids].slice(-this.#window);
    }
    this.#map.delete(streamId);
    this.#map.set(streamId, { version, ids: known });
    if (this.#map.size > this.#capacity) this.#map.delete(this.#map.keys().next().value!);
  }

  forget(streamId: string): void {
    this.#map.delete(streamId);
  }
}
