import type { EventStore, RecordedEvent } from '../contract/index.js';

/** How far a projection is behind the newest event of the types it handles. */
export interface ProjectionStatus {
  readonly projection: string;
  /** The generation readers see. */
  readonly generation: number;
  /** The subscription feeding it. */
  readonly subscription: string;
  /** The position of the last event handled, or `undefined` before the first one. */
  readonly position: bigint | undefined;
  /** The newest event of the projection's types, or `undefined` when there is none. */
  readonly head: bigint | undefined;
  /** Events of the projection's types after `position`: 0 when caught up. */
  readonly lagEvents: number;
  /**
   * How much older the last handled event is than the newest one, in seconds (by `createdAt`); 0 when caught up.
   * Before the first handled event, measured from the oldest unhandled one.
   */
  readonly lagSeconds: number;
}

export interface Lag {
  head: bigint | undefined;
  lagEvents: number;
  lagSeconds: number;
}

/**
 * Counts the events of `eventTypes` after `position` and dates the newest against the last handled one. The
 * contract's readAll reads forwards only, so the cost grows with the lag (one page of reads per `pageSize` events
 * behind), not with the store: cheap for a projection that keeps up.
 */
export async function measureLag(
  store: EventStore,
  eventTypes: readonly string[],
  position: bigint | undefined,
): Promise<Lag> {
  const filter = { eventTypes: [...eventTypes] };
  let count = 0;
  let first: RecordedEvent | undefined;
  let last: RecordedEvent | undefined;
  for await (const e of store.readAll({ after: position ?? 0n, filter })) {
    count++;
    first ??= e;
    last = e;
  }
  if (last === undefined) return { head: position, lagEvents: 0, lagSeconds: 0 };
  let since = first!.createdAt;
  if (position !== undefined && position > 0n) {
    // The handled event itself: the first of the projection's types at or after its position.
    for await (const e of store.readAll({ after: position - 1n, maxCount: 1, filter })) {
      if (e.position === position) since = e.createdAt;
    }
  }
  return {
    head: last.position,
    lagEvents: count,
    lagSeconds: Math.max(0, (last.createdAt.getTime() - since.getTime()) / 1000),
  };
}
