/**
 * One lane per stream: the work given for one stream runs one at a time, in the order it was given, while work for
 * other streams runs freely.
 *
 * Adapters that decide `'any'`/`'stream_exists'` appends by reading the stream's head and appending at the exact
 * version read (DynamoDB, EventStoreDB) queue such appends of one store to one stream in a lane: they could not both
 * succeed at once anyway, and each then starts from the head the previous one left in the store's cache, instead
 * of losing a race, reading again and retrying. Races with other stores and processes are still decided by the
 * backend's conditions, as before.
 */
export class StreamLanes {
  readonly #tails = new Map<string, Promise<void>>();

  /** Runs `work` after every earlier work of the same stream has settled. */
  async run<T>(streamId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(streamId);
    let release!: () => void;
    const done = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous === undefined ? done : previous.then(() => done);
    this.#tails.set(streamId, tail);
    try {
      if (previous !== undefined) await previous;
      return await work();
    } finally {
      release();
      if (this.#tails.get(streamId) === tail) this.#tails.delete(streamId);
    }
  }
}
