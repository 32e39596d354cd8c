import { randomUUID } from 'node:crypto';
import streamsPb from '@eventstore/db-client/generated/streams_pb.js';
import { eventResponse, streamDeleted, streamName } from './codec.js';
import type { LogEvent, TransactionLog } from './log.js';
import {
  assertValidPosition,
  type EventFilter,
  type Options,
  pace,
  positionOf,
  type ReadCall,
  type ReadStats,
} from './read.js';

/**
 * Streams.Read with subscription options, after EventStore/EventStore src/EventStore.Core/Services/Transport/
 * Enumerators/Enumerator.AllSubscription.cs, Enumerator.AllSubscriptionFiltered.cs and
 * Enumerator.StreamSubscription.cs (v24.2 and later), as far as the adapter depends on them:
 *
 * - the subscription confirms (SubscriptionConfirmation), catches up by reading the log page by page, sends CaughtUp
 *   once it reached the end, and then sends live events; every message goes through the call's flow control (the
 *   server awaits each write on the gRPC response stream, so a client that stops reading stops the server);
 * - from a position it sends the events strictly after that position (CatchUp: `eventPosition <= checkpoint`
 *   continues); from a revision, the revisions after it; from the end, live events only, with CaughtUp at once;
 * - a filtered $all subscription reads pages of at most `maxSearchWindow` considered events (default ReadBatchSize,
 *   32) and at most 32 matching ones, and sends a checkpoint once `checkpointIntervalMultiplier × maxSearchWindow`
 *   events were considered since the last, and when catch-up reaches the end: at the position of the last event
 *   sent or the start of the page just read, whichever is later (`completed.CurrentPos`; a page after the first
 *   starts at the previous page's NextPos, (post-position of its last record, 0), which is what the emulator uses
 *   too). Live, it sends one at the position of the event that completes an interval (SubscriptionsService
 *   ProcessEventCommited, CheckpointReached with `pair.OriginalPosition`). The server suppresses a checkpoint at or
 *   before one already sent (AllSubscriptionFiltered.MoveNextAsync);
 * - a stream subscription's catch-up reads the stream as a stream read does (metadata applied); live events are
 *   sent as they are written, and a tombstone ends the call with stream-deleted.
 *
 * The live phase reads the log from where catch-up stopped, so a client that reads slowly holds the emulator back
 * rather than filling its memory (the server instead drops a live subscription that falls behind back to catch-up,
 * FellBehind, which a client cannot tell apart).
 */

/** Enumerator.ReadBatchSize: the page size and the default maxSearchWindow. */
const READ_BATCH_SIZE = 32;

interface Pos {
  commit: number;
  prepare: number;
}

const before = (a: Pos, b: Pos) => a.commit < b.commit || (a.commit === b.commit && a.prepare < b.prepare);
const posOf = (e: LogEvent): Pos => ({ commit: e.commit, prepare: e.prepare });

function confirm(call: ReadCall): Promise<boolean> {
  const c = new streamsPb.ReadResp.SubscriptionConfirmation();
  c.setSubscriptionId(randomUUID());
  const resp = new streamsPb.ReadResp();
  resp.setConfirmation(c);
  return pace(call, resp);
}

function caughtUp(call: ReadCall): Promise<boolean> {
  const resp = new streamsPb.ReadResp();
  resp.setCaughtUp(new streamsPb.ReadResp.CaughtUp());
  return pace(call, resp);
}

function checkpoint(call: ReadCall, p: Pos): Promise<boolean> {
  const cp = new streamsPb.ReadResp.Checkpoint();
  cp.setCommitPosition(String(p.commit));
  cp.setPreparePosition(String(p.prepare));
  const resp = new streamsPb.ReadResp();
  resp.setCheckpoint(cp);
  return pace(call, resp);
}

/** Resolves at the next write to the log, or when the call ends (then false). */
function nextAppend(log: TransactionLog, call: ReadCall): Promise<boolean> {
  if (call.cancelled || call.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (more: boolean) => {
      unsubscribe();
      call.off('cancelled', ended);
      call.off('close', ended);
      resolve(more);
    };
    const ended = () => done(false);
    const unsubscribe = log.subscribe(() => done(true));
    call.once('cancelled', ended);
    call.once('close', ended);
  });
}

/** Index in `log.all` of the first event strictly after `p`. */
function indexAfter(log: TransactionLog, p: Pos | undefined): number {
  if (p === undefined) return 0;
  const i = log.indexFrom(p.commit, p.prepare);
  const at = log.all[i];
  return at !== undefined && at.commit === p.commit && at.prepare === p.prepare ? i + 1 : i;
}

export async function subscribeAll(
  log: TransactionLog,
  call: ReadCall,
  options: Options,
  filter: EventFilter | undefined,
  structured: boolean,
  stats: ReadStats,
): Promise<void> {
  const all = options.getAll()!;
  // The position after which events are sent (undefined: from the start).
  let cursor: Pos | undefined;
  if (all.hasEnd()) {
    const last = log.all.at(-1);
    cursor = last ? posOf(last) : { commit: 0, prepare: 0 };
  } else if (all.hasPosition()) {
    const p = positionOf(log, all);
    assertValidPosition(log, p.commit);
    cursor = p;
  }
  const f = options.getFilter();
  const window = f?.hasMax() ? f.getMax() : READ_BATCH_SIZE;
  const interval = f ? window * Math.max(1, f.getCheckpointintervalmultiplier()) : Number.POSITIVE_INFINITY;
  // The last checkpoint sent, or event sent: a checkpoint at or before it is not sent.
  let sent: Pos | undefined = cursor;
  let lastCheckpoint: Pos | undefined;
  const sendCheckpoint = async (p: Pos): Promise<boolean> => {
    if (lastCheckpoint !== undefined && !before(lastCheckpoint, p)) return true;
    lastCheckpoint = p;
    return checkpoint(call, p);
  };
  const send = async (e: LogEvent): Promise<boolean> => {
    sent = posOf(e);
    stats.subscriptionEvents++;
    return pace(call, eventResponse(e, structured, 'all'));
  };
  if (!(await confirm(call))) return;

  // Catch-up, page by page; a subscription from the end starts live.
  let counter = 0;
  let pageStart: Pos = cursor ?? { commit: 0, prepare: 0 };
  for (let i = indexAfter(log, cursor); !all.hasEnd(); ) {
    let considered = 0;
    let matched = 0;
    while (i < log.all.length && considered < window && matched < READ_BATCH_SIZE) {
      const e = log.all[i++]!;
      considered++;
      cursor = posOf(e);
      if (filter && !filter(e)) continue;
      matched++;
      if (!(await send(e))) return;
    }
    counter += considered;
    // The log may have grown while this page was paced: it is at its end only when no event is left.
    i = indexAfter(log, cursor);
    const end = i >= log.all.length;
    const latest = sent !== undefined && before(pageStart, sent) ? sent : pageStart;
    if (f && (end || counter >= interval)) {
      if (!end) counter %= interval;
      if (!(await sendCheckpoint(latest))) return;
    }
    if (end) break;
    pageStart = { commit: log.all[i]!.commit, prepare: 0 };
  }
  if (!(await caughtUp(call))) return;

  // Live: the log from where catch-up stopped, one event at a time.
  counter = 0;
  for (;;) {
    let i = indexAfter(log, cursor);
    if (i >= log.all.length) {
      if (!(await nextAppend(log, call))) return;
      continue;
    }
    for (; i < log.all.length; i++) {
      const e = log.all[i]!;
      cursor = posOf(e);
      if ((!filter || filter(e)) && !(await send(e))) return;
      if (f && ++counter >= interval) {
        counter = 0;
        if (!(await sendCheckpoint(posOf(e)))) return;
      }
      // Pacing may have let a scavenge rewrite the log: find the cursor again.
      if (log.all[i] !== e) break;
    }
  }
}

export async function subscribeStream(
  log: TransactionLog,
  call: ReadCall,
  options: Options,
  structured: boolean,
  stats: ReadStats,
): Promise<void> {
  const so = options.getStream()!;
  const name = streamName(so.getStreamIdentifier());
  if (log.stream(name)?.tombstoned) throw streamDeleted(name);
  if (!(await confirm(call))) return;
  // From a revision: the revisions after it. From the end: live only.
  let after = so.hasRevision() ? BigInt(so.getRevision()) : so.hasEnd() ? log.lastRevision(name) : -1n;
  const head = log.lastRevision(name);
  for (const e of log.visibleEvents(name)) {
    if (e.revision <= after) continue;
    stats.subscriptionEvents++;
    if (!(await pace(call, eventResponse(e, structured, 'stream')))) return;
    after = e.revision;
  }
  // Live from the stream's head as catch-up found it (events the metadata hid are not sent later).
  if (head > after) after = head;
  if (!(await caughtUp(call))) return;
  for (;;) {
    const state = log.stream(name);
    if (state?.tombstoned) throw streamDeleted(name);
    const next = state?.events.find((e) => e.revision > after);
    if (next === undefined) {
      if (!(await nextAppend(log, call))) return;
      continue;
    }
    stats.subscriptionEvents++;
    if (!(await pace(call, eventResponse(next, structured, 'stream')))) return;
    after = next.revision;
  }
}
