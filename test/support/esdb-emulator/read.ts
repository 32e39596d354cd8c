import { randomUUID } from 'node:crypto';
import streamsPb from '@eventstore/db-client/generated/streams_pb.js';
import { type ServerWritableStream, status } from '@grpc/grpc-js';
import { eventResponse, rpcError, streamDeleted, streamIdentifier, streamName } from './codec.js';
import type { LogEvent, TransactionLog } from './log.js';

type ReadReq = InstanceType<typeof streamsPb.ReadReq>;
type ReadResp = InstanceType<typeof streamsPb.ReadResp>;
type Options = InstanceType<typeof streamsPb.ReadReq.Options>;
export type ReadCall = ServerWritableStream<ReadReq, ReadResp>;

/** The server's default maxSearchWindow for filtered subscriptions (Enumerators.ReadBatchSize). */
const READ_BATCH_SIZE = 32;

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
 *   events; subscribing from a revision or position starts after it (AllSubscription reads one event at the
 *   position and continues at NextPos); a filtered $all subscription also sends checkpoints every
 *   `checkpointIntervalMultiplier × maxSearchWindow` considered events (AllSubscriptionFiltered).
 */
export function handleRead(log: TransactionLog, call: ReadCall): void {
  const options = call.request.getOptions();
  if (!options) {
    call.emit('error', rpcError(status.INVALID_ARGUMENT, 'options are required'));
    return;
  }
  try {
    const structured = options.getUuidOption()?.hasStructured() ?? false;
    const filter = makeFilter(options);
    const sendStream = (e: LogEvent) => call.write(eventResponse(e, structured, 'stream'));
    const sendAll = (e: LogEvent) => call.write(eventResponse(e, structured, 'all'));
    if (options.hasStream()) {
      if (options.hasSubscription()) subscribeStream(log, call, options, sendStream);
      else readStream(log, call, options, sendStream);
    } else if (options.hasAll()) {
      if (options.hasSubscription()) subscribeAll(log, call, options, filter, sendAll);
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

function makeFilter(options: Options): ((e: LogEvent) => boolean) | undefined {
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

function positionOf(log: TransactionLog, all: InstanceType<typeof streamsPb.ReadReq.Options.AllOptions>) {
  if (all.hasPosition()) {
    const p = all.getPosition()!;
    return { commit: Number(p.getCommitPosition()), prepare: Number(p.getPreparePosition()) };
  }
  if (all.hasEnd()) return { commit: log.end, prepare: log.end };
  return { commit: 0, prepare: 0 };
}

function assertValidPosition(log: TransactionLog, commit: number): void {
  if (commit < log.end && !log.recordStarts.has(commit)) {
    throw rpcError(status.INVALID_ARGUMENT, `Invalid position: ${commit} is not the start of a record.`);
  }
}

/** Waits while the call's buffer is full (the server streams reads with flow control too). */
async function pace(call: ReadCall, resp: ReadResp): Promise<boolean> {
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

function confirm(call: ReadCall): void {
  const c = new streamsPb.ReadResp.SubscriptionConfirmation();
  c.setSubscriptionId(randomUUID());
  const resp = new streamsPb.ReadResp();
  resp.setConfirmation(c);
  call.write(resp);
}

function caughtUp(call: ReadCall): void {
  const resp = new streamsPb.ReadResp();
  resp.setCaughtUp(new streamsPb.ReadResp.CaughtUp());
  call.write(resp);
}

function checkpoint(call: ReadCall, e: LogEvent): void {
  const cp = new streamsPb.ReadResp.Checkpoint();
  cp.setCommitPosition(String(e.commit));
  cp.setPreparePosition(String(e.prepare));
  const resp = new streamsPb.ReadResp();
  resp.setCheckpoint(cp);
  call.write(resp);
}

/** Registers the live listener in the same tick as the catch-up snapshot, so nothing falls between them. */
function goLive(log: TransactionLog, call: ReadCall, onEvent: (e: LogEvent) => void): void {
  const unsubscribe = log.subscribe((e) => {
    if (call.cancelled || call.destroyed) {
      unsubscribe();
      return;
    }
    onEvent(e);
  });
  const stop = () => unsubscribe();
  call.on('cancelled', stop);
  call.on('close', stop);
  call.on('error', stop);
}

function subscribeStream(
  log: TransactionLog,
  call: ReadCall,
  options: Options,
  send: (e: LogEvent) => void,
): void {
  const so = options.getStream()!;
  const name = streamName(so.getStreamIdentifier());
  if (log.stream(name)?.tombstoned) throw streamDeleted(name);
  confirm(call);
  // From a revision: exclusive (StreamSubscription starts at revision + 1). From the end: live only.
  const after = so.hasRevision() ? BigInt(so.getRevision()) : so.hasEnd() ? log.lastRevision(name) : -1n;
  for (const e of log.visibleEvents(name)) if (e.revision > after) send(e);
  caughtUp(call);
  goLive(log, call, (e) => {
    if (e.streamId !== name) return;
    if (e.type === '$streamDeleted') {
      call.emit('error', streamDeleted(name));
      return;
    }
    send(e);
  });
}

function subscribeAll(
  log: TransactionLog,
  call: ReadCall,
  options: Options,
  filter: ((e: LogEvent) => boolean) | undefined,
  send: (e: LogEvent) => void,
): void {
  const all = options.getAll()!;
  const { commit, prepare } = positionOf(log, all);
  let start: number;
  if (all.hasEnd()) start = log.all.length;
  else if (all.hasPosition()) {
    assertValidPosition(log, commit);
    const at = log.indexFrom(commit, prepare);
    start = at < log.all.length ? at + 1 : at;
  } else start = 0;
  const f = options.getFilter();
  const interval = f
    ? (f.hasMax() ? f.getMax() : READ_BATCH_SIZE) * Math.max(1, f.getCheckpointintervalmultiplier())
    : Number.POSITIVE_INFINITY;
  let considered = 0;
  const consider = (e: LogEvent) => {
    considered++;
    if (!filter || filter(e)) send(e);
    if (considered >= interval) {
      considered = 0;
      checkpoint(call, e);
    }
  };
  confirm(call);
  for (let i = start; i < log.all.length; i++) consider(log.all[i]!);
  caughtUp(call);
  goLive(log, call, consider);
}
