import type { TransactionLog } from './log.js';

/**
 * The server's expected-version and idempotency decision for a write, after IndexWriter.CheckCommit
 * (EventStore/EventStore, src/EventStore.Core/Services/Storage/ReaderIndex/IndexWriter.cs) and how
 * StorageWriterService.ActOnCommitCheckFailure answers each decision:
 *
 * - a tombstoned stream: StreamDeleted;
 * - STREAM_EXISTS on a stream with no events: WrongExpectedVersion;
 * - ANY / STREAM_EXISTS: each id is looked up in the recent-id cache (`_committedEvents`). The first id not found
 *   (or found in another stream) means a normal write; a later id not found is CorruptedIdempotency, answered as
 *   WrongExpectedVersion; all found is Idempotent: success with the original result, last event = the last id's;
 * - an exact expected revision E below the current revision: ids are compared with the events at E+1, E+2, …;
 *   all equal is Idempotent, the first different is WrongExpectedVersion, a later one CorruptedIdempotency
 *   (WrongExpectedVersion);
 * - E above the current revision: WrongExpectedVersion; E equal: a normal write (no id check).
 *
 * Idempotent success reports the last matched event (`LastEventNumber = endEventNumber`) and its log position
 * (`idempotentLogPosition = ReadEvent(stream, endEventNumber).Record.LogPosition`).
 */
export type ExpectedRevision =
  | { kind: 'any' }
  | { kind: 'no_stream' }
  | { kind: 'stream_exists' }
  | { kind: 'exact'; revision: bigint };

export type CommitDecision =
  | { kind: 'ok'; current: bigint }
  | { kind: 'idempotent'; lastRevision: bigint }
  | { kind: 'wrong-expected-version'; current: bigint }
  | { kind: 'deleted' };

export function checkCommit(
  log: TransactionLog,
  streamId: string,
  expected: ExpectedRevision,
  eventIds: readonly string[],
): CommitDecision {
  const state = log.stream(streamId);
  if (state?.tombstoned) return { kind: 'deleted' };
  const current = log.lastRevision(streamId);
  const wrong: CommitDecision = { kind: 'wrong-expected-version', current };

  if (expected.kind === 'stream_exists' && current < 0n) return wrong;

  if (expected.kind === 'any' || expected.kind === 'stream_exists') {
    let first: bigint | undefined;
    let last: bigint | undefined;
    for (const id of eventIds) {
      const hit = log.idCache.get(id);
      if (!hit || hit.streamId !== streamId) {
        return first === undefined ? { kind: 'ok', current } : wrong;
      }
      first ??= hit.revision;
      last = hit.revision;
    }
    return last === undefined ? { kind: 'ok', current } : { kind: 'idempotent', lastRevision: last };
  }

  const e = expected.kind === 'no_stream' ? -1n : expected.revision;
  if (e < current) {
    const visible = state?.events ?? [];
    const base = visible[0]?.revision ?? 0n;
    let revision = e;
    for (const id of eventIds) {
      revision += 1n;
      const stored = visible[Number(revision - base)];
      if (stored?.revision === revision && stored.id === id) continue;
      return wrong;
    }
    // An empty batch at a stale revision falls through the loop: the server answers Idempotent too.
    return { kind: 'idempotent', lastRevision: revision };
  }
  if (e > current) return wrong;
  return { kind: 'ok', current };
}
