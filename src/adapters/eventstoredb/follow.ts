import {
  type AllStreamResolvedEvent,
  BACKWARDS,
  END,
  type EventStoreDBClient,
  eventTypeFilter,
  type ResolvedEvent,
  START,
  streamNameFilter,
} from '@eventstore/db-client';
import type { FollowItem, PreparedSubscribe } from '../../adapter/index.js';
import { ErrorCodes, EventStoreError, isEventStoreError } from '../../contract/index.js';
import { toRecorded } from './convert.js';
import { PositionFinder } from './find-position.js';
import { mapError } from './map-error.js';
import { encodePosition, hasLogPosition, type LogPosition, MAX_POSITION } from './position.js';
import {
  escapeRegex,
  isSystemEvent,
  type PositionedEvent,
  plainRead,
  positioned,
  startOf,
} from './read-all.js';
import { Visibility } from './visibility.js';

/**
 * Subscriptions delivered by the server itself: a catch-up subscription (`subscribeToAll`, `subscribeToStream`) per
 * run, read with flow control, with the server's CaughtUp and checkpoint-reached messages passed on to the engine
 * (src/subscriptions, `Follow`).
 *
 * Memory: the client's subscription is a Transform stream piped from the gRPC call; both its sides are given a
 * high-water mark of `pageSize`, and it is read with `read()` only when the engine asks for the next item, so a
 * subscription holds at most 2 × pageSize events (a batch being checked is taken out of that buffer), plus what
 * HTTP/2 flow control lets the server send ahead on the call (the stream's window, 64 KiB by default). When the
 * buffers are full the call is paused and the server waits.
 */

/** Considered events between two checkpoint-reached messages, per unit of the client's checkpointInterval. */
const SERVER_WINDOW = 32;
/** How many buffered events are checked against their streams' metadata together. */
const BATCH = 256;
/** While catching up, a stream's rule is read again once it is this old (see Visibility). */
const CATCH_UP_RULE_MS = 1_000;

type Raw =
  | { kind: 'events'; list: ResolvedEvent[] }
  | { kind: 'checkpoint'; position: LogPosition }
  | { kind: 'caughtUp' }
  | { kind: 'idle' };

interface ClientSubscription {
  readonly readableLength: number;
  read(): unknown;
  resume(): unknown;
  on(event: string, listener: (...args: never[]) => void): unknown;
  unsubscribe(): Promise<void>;
}

/**
 * Pulls a client subscription's messages in the order the server sent them. The client emits 'caughtUp' and calls
 * `checkpointReached` while it transforms those messages, after it pushed every earlier event into the stream's
 * buffer: so such a marker comes after exactly the events read so far plus those buffered at that moment.
 */
class Puller {
  readonly #signal: AbortSignal;
  readonly #max: number;
  readonly #marks: Array<{ at: number; item: Raw }> = [];
  #received = 0;
  #sub: ClientSubscription | undefined;
  #wake: (() => void) | undefined;

  constructor(signal: AbortSignal, max: number) {
    this.#signal = signal;
    this.#max = max;
  }

  readonly checkpointReached = (_sub: unknown, position: LogPosition): void => {
    this.#mark({ kind: 'checkpoint', position });
  };

  #mark(item: Raw): void {
    this.#marks.push({ at: this.#received + (this.#sub?.readableLength ?? 0), item });
    this.#notify();
  }

  readonly #notify = (): void => {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  };

  async *items(sub: ClientSubscription): AsyncGenerator<Raw> {
    this.#sub = sub;
    let failure: { error: unknown } | undefined;
    let ended = false;
    sub.on('caughtUp', () => this.#mark({ kind: 'caughtUp' }));
    sub.on('readable', this.#notify);
    sub.on('error', (error: unknown) => {
      failure ??= { error };
      this.#notify();
    });
    sub.on('end', () => {
      ended = true;
      this.#notify();
    });
    this.#signal.addEventListener('abort', this.#notify);
    let live = false;
    let idle = false;
    try {
      for (;;) {
        if (this.#signal.aborted) return;
        const mark = this.#marks[0];
        if (mark !== undefined && mark.at <= this.#received) {
          this.#marks.shift();
          if (mark.item.kind === 'caughtUp') live = true;
          yield mark.item;
          continue;
        }
        // What is buffered, up to the next marker. Counted one by one: a read() can make the stream transform the
        // next message at once, and a marker it emits then must count the events taken before it.
        const list: ResolvedEvent[] = [];
        while (list.length < this.#max) {
          const next = this.#marks[0];
          if (next !== undefined && next.at <= this.#received) break;
          const item = sub.read() as ResolvedEvent | null;
          if (item === null) break;
          this.#received++;
          list.push(item);
        }
        if (list.length > 0) {
          idle = false;
          yield { kind: 'events', list };
          continue;
        }
        if (failure) throw mapError(failure.error, { operation: 'subscribe' });
        if (ended) {
          throw new EventStoreError(ErrorCodes.UNAVAILABLE, 'EventStoreDB ended the subscription', {
            operation: 'subscribe',
          });
        }
        if (live && !idle) {
          idle = true;
          yield { kind: 'idle' };
          continue;
        }
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
      }
    } finally {
      this.#signal.removeEventListener('abort', this.#notify);
      // Cancels the call and lets what is still buffered flow away (see abandon() in read-all.ts).
      sub.resume();
      await sub.unsubscribe();
    }
  }
}

function retryable(err: unknown): boolean {
  return isEventStoreError(err, 'UNAVAILABLE') || isEventStoreError(err, 'TIMEOUT');
}

/** The last record of $all (system events included), or undefined for an empty log. */
export async function lastRecord(client: EventStoreDBClient): Promise<PositionedEvent | undefined> {
  let last: PositionedEvent | undefined;
  // Runs to the end of its call (one event): a call left early would never finish (see abandon()).
  for await (const resolved of client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1 })) {
    last = positioned(resolved as AllStreamResolvedEvent);
  }
  return last;
}

/**
 * Where to subscribe so that exactly the events after `after` arrive: the server starts a subscription after the
 * event at its position (servers before v24.2 read one event at the position and skip it, later ones skip every
 * event at or before it: the same thing when the position is an event's), so it is given an event's position only.
 * A probe reads the first record at or after `after`: the record at `after` itself, or a later one, which is then
 * handed over first (`lead`); with none, the last record of the log, if it is still at or before `after`. A position
 * the server refuses (not the start of a record) falls back to the start, with what is at or before `after` left out.
 */
async function startPoint(
  client: EventStoreDBClient,
  after: bigint,
): Promise<{ from: LogPosition | typeof START; lead?: PositionedEvent }> {
  if (after === 0n) return { from: START };
  for (;;) {
    let probe: PositionedEvent | undefined;
    if (after < MAX_POSITION) {
      try {
        for await (const e of plainRead(client, startOf(after), 1)) probe = e;
      } catch (err) {
        const mapped = mapError(err, { operation: 'subscribe' });
        if (retryable(mapped)) throw mapped;
        return { from: START };
      }
    }
    if (probe) {
      const from = probe.resolved.event!.position!;
      return probe.position === after ? { from } : { from, lead: probe };
    }
    const last = await lastRecord(client);
    if (last === undefined) return { from: START };
    if (last.position <= after) return { from: last.resolved.event!.position! };
  }
}

/**
 * The server-side filter: the subscription's own, widened to the events that change what readAll hides (`$metadata`
 * of `$$<stream>`, tombstones), and, without one, every event whose type is not a system type. Every filtered
 * subscription gets checkpoint-reached messages, every `SERVER_WINDOW × interval` events the server considered.
 */
function serverFilter(s: PreparedSubscribe, checkpointReached: Puller['checkpointReached']) {
  const checkpointInterval = Math.max(1, Math.ceil(s.checkpointEvents / SERVER_WINDOW));
  const options = { checkpointInterval, checkpointReached };
  if (s.streamPrefix !== undefined) {
    return streamNameFilter({ prefixes: [s.streamPrefix, `$$${s.streamPrefix}`], ...options });
  }
  const types = s.eventTypes ? s.eventTypes.map(escapeRegex) : ['[^$].*'];
  return eventTypeFilter({
    regex: `^(?:${[...types, '\\$metadata', '\\$streamDeleted'].join('|')})$`,
    ...options,
  });
}

/** `Follow` for the global order: events after `after` that `s` wants and readAll shows, then live ones. */
export async function* followAll(
  client: EventStoreDBClient,
  after: bigint,
  s: PreparedSubscribe,
  signal: AbortSignal,
): AsyncGenerator<FollowItem> {
  const types = s.eventTypes ? new Set(s.eventTypes) : undefined;
  const wanted = (streamId: string, type: string) =>
    !isSystemEvent(streamId, type) &&
    (s.streamPrefix === undefined || streamId.startsWith(s.streamPrefix)) &&
    (types === undefined || types.has(type));
  const vis = new Visibility(client, 'subscribe');
  let live = false;
  /** The last position handed over (an event's, or a checkpoint's). */
  let last = after;

  /** The events of `batch` to hand over, in order; notes the metadata changes among them first. */
  async function check(batch: readonly PositionedEvent[]): Promise<FollowItem | undefined> {
    const keep: PositionedEvent[] = [];
    for (const e of batch) {
      if (e.position <= last) continue;
      const ev = e.resolved.event!;
      vis.observe(ev.streamId, ev.type, ev.revision);
      if (wanted(ev.streamId, ev.type)) keep.push(e);
    }
    if (keep.length === 0) return undefined;
    try {
      await vis.load(keep, live ? Number.POSITIVE_INFINITY : CATCH_UP_RULE_MS);
    } catch (err) {
      throw mapError(err, { operation: 'subscribe' });
    }
    const now = Date.now();
    const events = [];
    for (const e of keep) {
      if (!vis.visible(e, now)) continue;
      last = e.position;
      events.push(toRecorded(e.resolved, e.position));
    }
    return events.length === 0 ? undefined : { kind: 'events', events };
  }

  const start = await startPoint(client, after).catch((err: unknown) => {
    throw mapError(err, { operation: 'subscribe' });
  });
  const lead = start.lead && (await check([start.lead]));
  if (lead) yield lead;
  const max = Math.min(BATCH, s.pageSize);
  const puller = new Puller(signal, max);
  if (signal.aborted) return;
  const sub = client.subscribeToAll(
    { fromPosition: start.from, filter: serverFilter(s, puller.checkpointReached) },
    { highWaterMark: s.pageSize },
  );
  for await (const item of puller.items(sub)) {
    switch (item.kind) {
      case 'events': {
        const events = await check(item.list.map((r) => positioned(r as AllStreamResolvedEvent)));
        if (events) yield events;
        break;
      }
      case 'checkpoint': {
        const position = encodePosition(item.position);
        if (position <= last) break;
        last = position;
        yield { kind: 'checkpoint', position };
        break;
      }
      case 'caughtUp':
        live = true;
        yield item;
        break;
      case 'idle':
        yield item;
        break;
    }
  }
}

/**
 * `Follow` for one stream: its events after version `after` (revision `after − 1`), then live ones. The server
 * applies the stream's metadata to the events it reads for catch-up, as it does for stream reads.
 */
export async function* followStream(
  client: EventStoreDBClient,
  stream: string,
  after: bigint,
  s: PreparedSubscribe,
  signal: AbortSignal,
): AsyncGenerator<FollowItem> {
  const puller = new Puller(signal, Math.min(BATCH, s.pageSize));
  let last = after;
  let finder: PositionFinder | undefined;
  const sub = client.subscribeToStream(
    stream,
    { fromRevision: after === 0n ? START : after - 1n },
    { highWaterMark: s.pageSize },
  );
  for await (const item of puller.items(sub)) {
    if (item.kind === 'checkpoint') continue;
    if (item.kind !== 'events') {
      yield item;
      continue;
    }
    const events = [];
    for (const resolved of item.list) {
      const ev = resolved.event;
      if (!ev || ev.revision + 1n <= last) continue;
      let position: bigint | undefined;
      if (!hasLogPosition(ev.position)) {
        // An event of an explicit transaction: the stream read has no position for it, $all has.
        finder ??= new PositionFinder(client, stream);
        const found = await finder.find(ev.id).catch((err: unknown) => {
          throw mapError(err, { operation: 'subscribe', streamId: stream });
        });
        if (!found) {
          throw new EventStoreError(
            ErrorCodes.BACKEND_ERROR,
            `EventStoreDB sent event ${ev.id} of stream '${stream}' without a log position, and $all does not have it`,
            { streamId: stream },
          );
        }
        position = encodePosition(found);
      }
      last = ev.revision + 1n;
      events.push(toRecorded(resolved, position));
    }
    if (events.length > 0) yield { kind: 'events', events };
  }
}
