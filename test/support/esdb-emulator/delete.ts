import { randomUUID } from 'node:crypto';
import streamsPb from '@eventstore/db-client/generated/streams_pb.js';
import { type ServerUnaryCall, type ServiceError, type sendUnaryData, status } from '@grpc/grpc-js';
import { expectedOf, writeTruncateBefore } from './append.js';
import { rpcError, streamDeleted, streamName } from './codec.js';
import type { ExpectedRevision } from './commit-check.js';
import { SOFT_DELETED_TB, TOMBSTONE_REVISION, type TransactionLog } from './log.js';

function checkDelete(log: TransactionLog, name: string, expected: ExpectedRevision): void {
  if (log.stream(name)?.tombstoned) throw streamDeleted(name);
  const current = log.lastRevision(name);
  const ok =
    expected.kind === 'any' ||
    (expected.kind === 'no_stream' && current < 0n) ||
    (expected.kind === 'stream_exists' && current >= 0n) ||
    (expected.kind === 'exact' && expected.revision === current);
  if (!ok) throw wrongExpectedVersion(name, expected, current);
}

function wrongExpectedVersion(name: string, expected: ExpectedRevision, current: bigint): ServiceError {
  return rpcError(status.FAILED_PRECONDITION, 'Wrong expected version.', {
    exception: 'wrong-expected-version',
    'stream-name': name,
    'expected-version': expected.kind === 'exact' ? expected.revision.toString() : '-2',
    ...(current >= 0n ? { 'actual-version': current.toString() } : {}),
  });
}

function positionResp<T extends { setPosition(p: never): unknown }>(
  resp: T,
  Position: new () => { setCommitPosition(v: string): unknown; setPreparePosition(v: string): unknown },
  at: number,
): T {
  const p = new Position();
  p.setCommitPosition(String(at));
  p.setPreparePosition(String(at));
  resp.setPosition(p as never);
  return resp;
}

/**
 * Streams.Delete: a soft delete, which writes `$tb` = long.MaxValue to the stream's metadata stream (its other
 * metadata kept). The events stay in the index and in $all; stream reads stop returning them, and the stream keeps
 * its last revision. A stream that never had events cannot be soft-deleted: WrongExpectedVersion.
 */
export function del(
  log: TransactionLog,
  call: ServerUnaryCall<InstanceType<typeof streamsPb.DeleteReq>, InstanceType<typeof streamsPb.DeleteResp>>,
  cb: sendUnaryData<InstanceType<typeof streamsPb.DeleteResp>>,
): void {
  try {
    const o = call.request.getOptions()!;
    const name = streamName(o.getStreamIdentifier());
    const expected = expectedOf(o);
    checkDelete(log, name, expected);
    if (log.lastRevision(name) < 0n) throw wrongExpectedVersion(name, expected, -1n);
    writeTruncateBefore(log, name, SOFT_DELETED_TB);
    cb(null, positionResp(new streamsPb.DeleteResp(), streamsPb.DeleteResp.Position, log.all.at(-1)!.commit));
  } catch (err) {
    cb(err as ServiceError);
  }
}

/** Streams.Tombstone: a hard delete; the tombstone record ($streamDeleted, revision long.MaxValue) is in $all. */
export function tombstone(
  log: TransactionLog,
  call: ServerUnaryCall<
    InstanceType<typeof streamsPb.TombstoneReq>,
    InstanceType<typeof streamsPb.TombstoneResp>
  >,
  cb: sendUnaryData<InstanceType<typeof streamsPb.TombstoneResp>>,
): void {
  try {
    const o = call.request.getOptions()!;
    const name = streamName(o.getStreamIdentifier());
    checkDelete(log, name, expectedOf(o));
    const [record] = log.write(name, TOMBSTONE_REVISION, [
      {
        id: randomUUID(),
        type: '$streamDeleted',
        contentType: 'application/octet-stream',
        data: new Uint8Array(),
        customMetadata: new Uint8Array(),
      },
    ]);
    const state = log.stream(name)!;
    state.tombstoned = true;
    cb(null, positionResp(new streamsPb.TombstoneResp(), streamsPb.TombstoneResp.Position, record!.commit));
  } catch (err) {
    cb(err as ServiceError);
  }
}
