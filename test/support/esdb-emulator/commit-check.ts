import type { TransactionLog } from './log.js';

/**
 * The server's expected-version and idempotency decision for a write, after IndexWriter.CheckCommit
 * (kurrent-io/KurrentDB, src/KurrentDB.Core/Services/Storage/ReaderIndex/IndexWriter.cs), with `current` the
 * stream's last event number as the index knows it (a soft-deleted stream keeps its last revision):
 *
 * - a tombstoned stream: StreamDeleted for any write of events; an empty write is Ok with ANY/NO_STREAM;
 * - STREAM_EXISTS: a soft-deleted stream fails (answered StreamDeleted, as the .NET client's
 *   `appending_with_stream_exists_expected_version_to_deleted_stream_throws_stream_deleted` expects); a stream with no
 *   events passes when its metadata stream has events (`append_with_stream_exists_expected_version_if_metadata_stream_exists`);
 * - ANY / STREAM_EXISTS: each id is looked up in the recent-id cache, which keeps the *first* stream and event
 *   number of an id. The first id not found (or found in another stream) means a normal write; a later one is
 *   CorruptedIdempotency (answered WrongExpectedVersion); all found is Idempotent, reporting the last id's number;
 * - an exact expected revision E below `current` (NO_STREAM is -1): ids are compared with the events at E+1, E+2,
 *   … (the index, whatever the metadata hides); all equal is Idempotent. A first id that differs is a normal write
 *   for NO_STREAM on a soft-deleted stream (re-creation), else WrongExpectedVersion; a later one is
 *   CorruptedIdempotency. An empty write at a stale E is WrongExpectedVersion (Ok for NO_STREAM on a soft-deleted
 *   stream);
 * - E above `current`: WrongExpectedVersion; E equal: a normal write (no id check), re-creating a soft-deleted stream.
 *
 * WrongExpectedVersion reports `current`. An Idempotent answer carries the log position of its last event only when
 * a read can return that event (`_indexReader.ReadEvent`, which applies the stream's metadata); otherwise the
 * answer has no position.
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
  const current = log.lastRevision(streamId);
  const wrong: CommitDecision = { kind: 'wrong-expected-version', current };
  const ok: CommitDecision = { kind: 'ok', current };
  if (state?.tombstoned) {
    if (eventIds.length > 0) return { kind: 'deleted' };
    return expected.kind === 'any' || expected.kind === 'no_stream' ? ok : wrong;
  }
  const softDeleted = log.isSoftDeleted(streamId);

  if (expected.kind === 'stream_exists') {
    if (softDeleted) return { kind: 'deleted' };
    if (current < 0n && log.lastRevision(`$$${streamId}`) < 0n) return wrong;
  }

  if (expected.kind === 'any' || expected.kind === 'stream_exists') {
    let last: bigint | undefined;
    for (const [i, id] of eventIds.entries()) {
      const hit = log.idCache.get(id);
      if (!hit || hit.streamId !== streamId) return i === 0 ? ok : wrong;
      last = hit.revision;
    }
    return last === undefined ? ok : { kind: 'idempotent', lastRevision: last };
  }

  const e = expected.kind === 'no_stream' ? -1n : expected.revision;
  if (e < current) {
    const stored = state?.events ?? [];
    const base = stored[0]?.revision ?? 0n;
    let revision = e;
    for (const [i, id] of eventIds.entries()) {
      revision += 1n;
      const at = stored[Number(revision - base)];
      if (at?.revision === revision && at.id === id) continue;
      if (i > 0) return wrong;
      return expected.kind === 'no_stream' && softDeleted ? ok : wrong;
    }
    if (eventIds.length === 0) return expected.kind === 'no_stream' && softDeleted ? ok : wrong;
    return { kind: 'idempotent', lastRevision: revision };
  }
  if (e > current) return wrong;
  return ok;
}
