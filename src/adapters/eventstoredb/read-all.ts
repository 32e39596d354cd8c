import {
  type AllStreamResolvedEvent,
  type AllStreamSubscription,
  type EventStoreDBClient,
  eventTypeFilter,
  FORWARDS,
  START,
  streamNameFilter,
} from '@eventstore/db-client';
import type { PreparedReadAll } from '../../adapter/index.js';
import type { RecordedEvent } from '../../contract/index.js';
import { toRecorded } from './convert.js';
import { mapError } from './map-error.js';
import {
  decodePosition,
  encodePosition,
  type LogPosition,
  MAX_LOG_POSITION,
  MAX_POSITION,
} from './position.js';
import { Visibility, visibleOnly } from './visibility.js';

/** A $all event with its encoded position. */
export interface PositionedEvent {
  resolved: AllStreamResolvedEvent;
  position: bigint;
}

/** System streams and system event types start with `$` (SystemStreams, SystemEventTypes). */
export function isSystemEvent(streamId: string, type: string): boolean {
  return streamId.startsWith('$') || type.startsWith('$');
}

/** Escapes the regex syntax characters (the same set in .NET and JavaScript), so a type matches literally. */
export function escapeRegex(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
}

/**
 * Where to start reading: the pair `after` decodes to. A prepare past any the server writes is after every event of
 * that commit position, so reading starts at the next one.
 */
export function startOf(after: bigint): LogPosition {
  const p = decodePosition(after);
  return p.prepare > MAX_LOG_POSITION ? { commit: p.commit + 1n, prepare: 0n } : p;
}

export function positioned(resolved: AllStreamResolvedEvent): PositionedEvent {
  const pos = resolved.event?.position;
  if (!pos) throw new Error('EventStoreDB returned a $all event without a position');
  return { resolved, position: encodePosition(pos) };
}

/** Plain $all read forwards from `from` (inclusive on the server), unfiltered. Cancels the call when left early. */
export async function* plainRead(
  client: EventStoreDBClient,
  from: LogPosition | typeof START,
  maxCount?: number,
): AsyncGenerator<PositionedEvent> {
  const stream = client.readAll({
    fromPosition: from,
    direction: FORWARDS,
    ...(maxCount === undefined ? {} : { maxCount }),
  });
  let done = false;
  try {
    for await (const resolved of stream.iterator({ destroyOnReturn: false })) yield positioned(resolved);
    done = true;
  } finally {
    if (!done) await abandon(stream);
  }
}

/**
 * Ends a read the caller left early: cancels the call and lets what is still buffered flow away. Destroying the
 * client's stream instead would unpipe the gRPC call from it, and a call that already received everything would
 * then never finish, which makes the client's dispose() wait forever.
 */
export async function abandon(stream: { resume(): unknown; cancel(): Promise<void> }): Promise<void> {
  stream.resume();
  await stream.cancel();
}

/**
 * Drains a catch-up subscription up to the moment the server says it has caught up (ReadResp.CaughtUp: every
 * event that existed has been sent), then unsubscribes. The client emits 'caughtUp' while it transforms that
 * message, after it pushed every earlier event into the stream's buffer, so the events still to take are exactly
 * those taken so far plus what is buffered at that moment.
 */
export async function* untilCaughtUp(sub: AllStreamSubscription): AsyncGenerator<PositionedEvent> {
  let received = 0;
  let target: number | undefined;
  let failure: { error: unknown } | undefined;
  let ended = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  sub.on('caughtUp', () => {
    target ??= received + sub.readableLength;
    notify();
  });
  sub.on('readable', notify);
  sub.on('error', (error: unknown) => {
    failure ??= { error };
    notify();
  });
  sub.on('end', () => {
    ended = true;
    notify();
  });
  try {
    for (;;) {
      if (target !== undefined && received >= target) return;
      const item = sub.read() as AllStreamResolvedEvent | null;
      if (item !== null) {
        received++;
        yield positioned(item);
        continue;
      }
      if (failure) throw failure.error;
      if (ended) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    sub.resume();
    await sub.unsubscribe();
  }
}

/** A filtered read pushed to the server: a filtered catch-up subscription to $all, from START or after `from`. */
function filteredRead(
  client: EventStoreDBClient,
  q: PreparedReadAll,
  from: LogPosition | typeof START,
): AsyncGenerator<PositionedEvent> {
  const filter =
    q.streamPrefix !== undefined
      ? streamNameFilter({ prefixes: [q.streamPrefix] })
      : eventTypeFilter({ regex: `^(?:${(q.eventTypes ?? []).map(escapeRegex).join('|')})$` });
  return untilCaughtUp(client.subscribeToAll({ fromPosition: from, filter }));
}

/**
 * Every non-system event after `q.after` that passes the filter, in $all order, at most `q.maxCount` of them.
 * Positions the server did not hand out (a number between two events, or past the end) are handled without relying
 * on the server accepting them:
 *
 * - unfiltered: plain reads from the decoded pair (inclusive), skipping what is ≤ `after`. With a maxCount, each read
 *   asks the server for what is still wanted (+1 for the event at `after`) and, when the page was full, reads again
 *   from the last event it held, system event or not (a page of system events alone moves the read on);
 * - filtered: a subscription, which starts *after* the event at its position. So when `after` is not 0 a one-event
 *   probe first reads what is at-or-after it: nothing → done; exactly `after` → subscribe from it; a later event →
 *   that event, then subscribe from it;
 * - if the server rejects the start position (it is inside a record), a full scan from the start, filtered here.
 */
export async function* readAllEvents(
  client: EventStoreDBClient,
  q: PreparedReadAll,
): AsyncGenerator<RecordedEvent> {
  // Nothing can be after the last position the server can write.
  if (q.after >= MAX_POSITION) return;
  try {
    yield* read(client, q);
  } catch (err) {
    throw mapError(err, { operation: 'readAll' });
  }
}

/** How many events readAll reads ahead to check their streams' metadata together (see Visibility). */
const BATCH = 256;

async function* read(client: EventStoreDBClient, q: PreparedReadAll): AsyncGenerator<RecordedEvent> {
  const types = q.eventTypes ? new Set(q.eventTypes) : undefined;
  const vis = new Visibility(client);
  const after = q.after;
  let yielded = 0;
  const batch = () => Math.min(BATCH, q.maxCount - yielded);
  const keep = (e: PositionedEvent) => {
    const ev = e.resolved.event!;
    return (
      e.position > after &&
      !isSystemEvent(ev.streamId, ev.type) &&
      (q.streamPrefix === undefined || ev.streamId.startsWith(q.streamPrefix)) &&
      (types === undefined || types.has(ev.type))
    );
  };
  const filtered = q.streamPrefix !== undefined || types !== undefined;
  let started = false;
  try {
    if (!filtered) {
      // The last position received, system events included, so that a page of only system events (or of events
      // the metadata hides) still moves the next page on.
      let cursor = after;
      for (;;) {
        const want = Number.isFinite(q.maxCount) ? q.maxCount - yielded + 1 : undefined;
        let received = 0;
        const stream = client.readAll({
          fromPosition: cursor === 0n ? START : startOf(cursor),
          direction: FORWARDS,
          ...(want === undefined ? {} : { maxCount: want }),
        });
        const page = async function* (): AsyncGenerator<PositionedEvent> {
          let done = false;
          try {
            for await (const resolved of stream.iterator({ destroyOnReturn: false })) {
              started = true;
              received++;
              const e = positioned(resolved as AllStreamResolvedEvent);
              if (e.position <= cursor) continue;
              cursor = e.position;
              if (!isSystemEvent(e.resolved.event!.streamId, e.resolved.event!.type)) yield e;
            }
            done = true;
          } finally {
            if (!done) await abandon(stream);
          }
        };
        for await (const e of visibleOnly(vis, page(), batch)) {
          yield toRecorded(e.resolved, e.position);
          if (++yielded >= q.maxCount) return;
        }
        if (want === undefined || received < want) return;
      }
    }
    let from: LogPosition | typeof START = START;
    if (after > 0n) {
      let probe: PositionedEvent | undefined;
      for await (const e of plainRead(client, startOf(after), 1)) probe = e;
      started = true;
      if (!probe) return;
      if (keep(probe)) {
        for await (const e of visibleOnly(vis, [probe], batch)) {
          yield toRecorded(e.resolved, e.position);
          if (++yielded >= q.maxCount) return;
        }
      }
      from = probe.resolved.event!.position!;
    }
    started = true;
    for await (const e of visibleOnly(vis, only(filteredRead(client, q, from), keep), batch)) {
      yield toRecorded(e.resolved, e.position);
      if (++yielded >= q.maxCount) return;
    }
  } catch (err) {
    if (started || q.after === 0n) throw err;
    // The server refused to start at `after` (not the start of a record): scan from the beginning instead.
    for await (const e of visibleOnly(vis, only(plainRead(client, START), keep), batch)) {
      yield toRecorded(e.resolved, e.position);
      if (++yielded >= q.maxCount) return;
    }
  }
}

async function* only<T>(source: AsyncIterable<T>, keep: (e: T) => boolean): AsyncGenerator<T> {
  for await (const e of source) if (keep(e)) yield e;
}
