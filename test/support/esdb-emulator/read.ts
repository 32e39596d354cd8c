import streamsPb from '@eventstore/db-client/generated/streams_pb.js';
import { type ServerWritableStream, status } from '@grpc/grpc-js';
import { eventResponse, rpcError, streamDeleted, streamIdentifier, streamName } from './codec.js';
import type { LogEvent, TransactionLog } from './log.js';
import { subscribeAll, subscribeStream } from './subscribe.js';

type ReadReq = InstanceType<typeof streamsPb.ReadReq>;
type ReadResp = InstanceType<typeof streamsPb.ReadResp>;
export type Options = InstanceType<typeof streamsPb.ReadReq.Options>;
export type ReadCall = ServerWritableStream<ReadReq, ReadResp>;

/**
 * Streams.Read: reads a stream or $all, forwards or backwards, with a count and a filter, or subscribes to them.
 * Behaviour after EventStore/EventStore src/EventStore.Core/Services/Transport/Grpc/Streams.Read.cs and the
 * Enumerators.* classes beside it:
 *
 * - a stream that does not exist or is soft-deleted answers one `stream_not_found` message
 *   (ReadStreamForwards/Backwards); one whose events the metadata hides answers no event; a tombstoned stream
 *   fails with exception=stream-deleted;
 * - $all positions are inclusive going forwards and exclusive going backwards (AllReader: "pre-positions" forwards,
 *   "post-positions" backwards). A commit position past the end reads nothing; one that is not the start of a record
 *   is an invalid position (ReadAllResult.InvalidPosition);
 * - a subscription first confirms (SubscriptionConfirmation), sends the catch-up events, then CaughtUp, then live
 *   events (subscribe.ts).
 */
/** What the emulator counts for tests: events sent on subscriptions. */
export interface ReadStats {
  subscriptionEvents: number;
}

export function handleRead(log: TransactionLog, call: ReadCall, stats: ReadStats): void {
  const options = call.request.getOptions();
  if (!options) {
    call.emit('error', rpcError(status.INVALID_ARGUMENT, 'options are required'));
    return;
  }
  try {
    const structured = options.getUuidOption()?.hasStructured() ?? false;
    const filter = makeFilter(options);
    const sendStream = (e: LogEvent) => call.write(eventResponse(e, structured, 'stream'));
    const failed = (err: unknown) => {
      if (!call.cancelled) call.emit('error', err);
    };
    if (options.hasStream()) {
      if (options.hasSubscription()) subscribeStream(log, call, options, structured, stats).catch(failed);
      else readStream(log, call, options, sendStream);
    } else if (options.hasAll()) {
      if (options.hasSubscription())
        subscribeAll(log, call, options, filter, structured, stats).catch(failed);
      else
        readAll(log, call, options, filter, structured).catch((err: unknown) => {
          if (!call.cancelled) call.emit('error', err);
        });
    } else {
      throw rpcError(status.INVALID_ARGUMENT, 'stream or all is required');
    }
  } catch (err) {
    call.emit('error', err);
  }
}

function count(options: Options): number {
  return options.hasCount() ? Number(options.getCount()) : Number.POSITIVE_INFINITY;
}

function backwards(options: Options): boolean {
  return options.getReadDirection() === streamsPb.ReadReq.Options.ReadDirection.BACKWARDS;
}

export type EventFilter = (e: LogEvent) => boolean;

function makeFilter(options: Options): EventFilter | undefined {
  if (!options.hasFilter()) return undefined;
  const f = options.getFilter()!;
  const onStream = f.hasStreamIdentifier();
  const expr = onStream ? f.getStreamIdentifier() : f.getEventType();
  if (!expr) return undefined;
  // The server compiles the regex with .NET's Regex; the syntax the clients send (anchors, classes, escapes,
  // alternation) means the same in JavaScript.
  const regex = expr.getRegex() ? new RegExp(expr.getRegex()) : undefined;
  const prefixes = expr.getPrefixList();
  return (e) => {
    const subject = onStream ? e.streamId : e.type;
    if (regex && !regex.test(subject)) return false;
    return prefixes.length === 0 || prefixes.some((p) => subject.startsWith(p));
  };
}

function notFound(call: ReadCall, name: string): void {
  const nf = new streamsPb.ReadResp.StreamNotFound();
  nf.setStreamIdentifier(streamIdentifier(name));
  const resp = new streamsPb.ReadResp();
  resp.setStreamNotFound(nf);
  call.write(resp);
  call.end();
}

function readStream(
  log: TransactionLog,
  call: ReadCall,
  options: Options,
  send: (e: LogEvent) => void,
): void {
  const so = options.getStream()!;
  const name = streamName(so.getStreamIdentifier());
  // The metadata stream of a tombstoned stream is deleted too (SoftDeleteTests.can_be_hard_deleted).
  if (log.stream(name)?.tombstoned || (name.startsWith('$$') && log.stream(name.slice(2))?.tombstoned)) {
    throw streamDeleted(name);
  }
  // NoStream only when the stream has no event or is soft-deleted; a stream whose events the metadata hides reads
  // as empty (IndexReader.ReadStreamEventsForward/Backward; SoftDeleteTests.recreated_on_non_empty_when_metadata_set
  // reads nothing where reading_throws gets StreamNotFound).
  if (log.lastRevision(name) < 0n || log.isSoftDeleted(name)) {
    notFound(call, name);
    return;
  }
  const events = log.visibleEvents(name);
  const max = count(options);
  let sent = 0;
  if (!backwards(options)) {
    const from = so.hasRevision() ? BigInt(so.getRevision()) : so.hasEnd() ? 1n << 63n : 0n;
    for (const e of events) {
      if (sent >= max) break;
      if (e.revision < from) continue;
      send(e);
      sent++;
    }
  } else {
    // Backwards from Start reads revision 0 (ReadStreamBackward.be_able_to_read_first_event).
    const from = so.hasRevision() ? BigInt(so.getRevision()) : so.hasStart() ? 0n : 1n << 63n;
    for (let i = events.length - 1; i >= 0 && sent < max; i--) {
      const e = events[i]!;
      if (e.revision > from) continue;
      send(e);
      sent++;
    }
  }
  call.end();
}

export function positionOf(
  log: TransactionLog,
  all: InstanceType<typeof streamsPb.ReadReq.Options.AllOptions>,
) {
  if (all.hasPosition()) {
    const p = all.getPosition()!;
    return { commit: Number(p.getCommitPosition()), prepare: Number(p.getPreparePosition()) };
  }
  if (all.hasEnd()) return { commit: log.end, prepare: log.end };
  return { commit: 0, prepare: 0 };
}

export function assertValidPosition(log: TransactionLog, commit: number): void {
  if (commit < log.end && !log.recordStarts.has(commit)) {
    throw rpcError(status.INVALID_ARGUMENT, `Invalid position: ${commit} is not the start of a record.`);
  }
}

/** Waits while the call's buffer is full (the server streams reads with flow control too). */
export async function pace(call: ReadCall, resp: ReadResp): Promise<boolean> {
  if (call.cancelled || call.destroyed) return false;
  if (!call.write(resp)) await new Promise((resolve) => call.once('drain', resolve));
  return !(call.cancelled || call.destroyed);
}

async function readAll(
  log: TransactionLog,
  call: ReadCall,
  options: Options,
  filter: ((e: LogEvent) => boolean) | undefined,
  structured: boolean,
): Promise<void> {
  const all = options.getAll()!;
  const { commit, prepare } = positionOf(log, all);
  const max = count(options);
  const forwards = !backwards(options);
  if (forwards || commit < log.end) assertValidPosition(log, commit);
  const step = forwards ? 1 : -1;
  let i = forwards ? log.indexFrom(commit, prepare) : log.indexFrom(commit, prepare) - 1;
  for (let sent = 0; i >= 0 && i < log.all.length && sent < max; i += step) {
    const e = log.all[i]!;
    if (filter && !filter(e)) continue;
    if (!(await pace(call, eventResponse(e, structured, 'all')))) return;
    sent++;
  }
  call.end();
}
