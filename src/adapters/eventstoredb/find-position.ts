import { type EventStoreDBClient, START, streamNameFilter } from '@eventstore/db-client';
import { hasLogPosition, type LogPosition } from './position.js';
import { escapeRegex, untilCaughtUp } from './read-all.js';

/**
 * Finds the $all positions of a stream's events that a stream read returned without one. The server has no
 * position to give for an event of an explicit transaction (legacy TCP API) in a stream read, and none for an
 * idempotent append whose events the stream's metadata hides; $all has every event that has not been scavenged.
 *
 * One finder serves one stream: it walks $all forwards through a catch-up subscription filtered on the stream's
 * exact name (so the server skips the other streams) up to the moment it has caught up, and remembers the position
 * of every event of the stream; a question it cannot answer from that walks on from where the last one stopped. It
 * never guesses: an event $all does not have (scavenged) is `undefined`.
 */
export class PositionFinder {
  readonly #client: EventStoreDBClient;
  readonly #streamId: string;
  readonly #known = new Map<string, LogPosition>();
  #from: LogPosition | typeof START = START;

  constructor(client: EventStoreDBClient, streamId: string) {
    this.#client = client;
    this.#streamId = streamId;
  }

  /** The {commit, prepare} of the stream's event with this id, or undefined when $all does not have it. */
  async find(id: string): Promise<LogPosition | undefined> {
    const hit = this.#known.get(id);
    if (hit) return hit;
    const sub = this.#client.subscribeToAll({
      fromPosition: this.#from,
      filter: streamNameFilter({ regex: `^${escapeRegex(this.#streamId)}$` }),
    });
    for await (const { resolved } of untilCaughtUp(sub)) {
      const e = resolved.event;
      if (!e || !hasLogPosition(e.position) || e.streamId !== this.#streamId) continue;
      this.#known.set(e.id, e.position);
      this.#from = e.position;
    }
    return this.#known.get(id);
  }
}
