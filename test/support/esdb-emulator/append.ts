import { randomUUID } from 'node:crypto';
import sharedPb from '@eventstore/db-client/generated/shared_pb.js';
import streamsPb from '@eventstore/db-client/generated/streams_pb.js';
import { type ServerReadableStream, type ServiceError, type sendUnaryData, status } from '@grpc/grpc-js';
import { maxAppendSizeExceeded, parseUuid, rpcError, streamDeleted, streamName } from './codec.js';
import { type CommitDecision, checkCommit, type ExpectedRevision } from './commit-check.js';
import { type LogEvent, type ProposedEvent, type TransactionLog, withTruncateBefore } from './log.js';

type AppendReq = InstanceType<typeof streamsPb.AppendReq>;
type AppendResp = InstanceType<typeof streamsPb.AppendResp>;

export function expectedOf(o: {
  hasRevision(): boolean;
  getRevision(): string;
  hasNoStream(): boolean;
  hasStreamExists(): boolean;
}): ExpectedRevision {
  if (o.hasRevision()) return { kind: 'exact', revision: BigInt(o.getRevision()) };
  if (o.hasNoStream()) return { kind: 'no_stream' };
  if (o.hasStreamExists()) return { kind: 'stream_exists' };
  return { kind: 'any' };
}

function wrongExpectedVersion(expected: ExpectedRevision, current: bigint): AppendResp {
  const w = new streamsPb.AppendResp.WrongExpectedVersion();
  if (current < 0n) w.setCurrentNoStream(new sharedPb.Empty());
  else w.setCurrentRevision(current.toString());
  if (expected.kind === 'exact') w.setExpectedRevision(expected.revision.toString());
  else if (expected.kind === 'no_stream') w.setExpectedNoStream(new sharedPb.Empty());
  else if (expected.kind === 'stream_exists') w.setExpectedStreamExists(new sharedPb.Empty());
  else w.setExpectedAny(new sharedPb.Empty());
  const resp = new streamsPb.AppendResp();
  resp.setWrongExpectedVersion(w);
  return resp;
}

function success(revision: bigint, at: LogEvent | undefined): AppendResp {
  const s = new streamsPb.AppendResp.Success();
  if (revision < 0n) s.setNoStream(new sharedPb.Empty());
  else s.setCurrentRevision(revision.toString());
  if (at) {
    const p = new streamsPb.AppendResp.Position();
    p.setCommitPosition(String(at.commit));
    p.setPreparePosition(String(at.prepare));
    s.setPosition(p);
  } else s.setNoPosition(new sharedPb.Empty());
  const resp = new streamsPb.AppendResp();
  resp.setSuccess(s);
  return resp;
}

/**
 * Writes `$metadata` to `$$stream` with `$tb` set to `tb` and the rest of the stream's metadata kept, as the server
 * does for a soft delete (`$tb` = long.MaxValue) and for the write that re-creates a soft-deleted stream (`$tb` = its
 * first new event; the .NET client's `recreated_preserves_metadata_except_truncate_before`).
 */
export function writeTruncateBefore(log: TransactionLog, stream: string, tb: bigint): void {
  const meta = `$$${stream}`;
  log.write(meta, log.lastRevision(meta) + 1n, [
    {
      id: randomUUID(),
      type: '$metadata',
      contentType: 'application/json',
      data: withTruncateBefore(log.ensure(stream).metadata, tb),
      customMetadata: new Uint8Array(),
    },
  ]);
}

/**
 * What the server counts of an event against MaxAppendSize: Event.SizeOnDisk = data bytes + metadata bytes + 2 ×
 * the type's length in UTF-16 code units (kurrent-io/KurrentDB, src/KurrentDB.Core/Data/Event.cs, used by
 * Streams.Append.cs). Older servers (EventStore/EventStore Streams.Append.cs before SizeOnDisk) summed data bytes
 * only, which this count never falls below.
 */
export function sizeOnDisk(type: string, data: Uint8Array, metadata: Uint8Array): number {
  return data.length + metadata.length + 2 * type.length;
}

/**
 * Streams.Append (client streaming: options, then proposed messages), after Streams.Append.cs: each proposed event
 * needs the `type` and `content-type` metadata; the server adds up {@link sizeOnDisk} as the messages arrive and
 * fails the call with MaximumAppendSizeExceeded as soon as the sum passes MaxAppendSize, without waiting for the
 * rest of the request. A wrong expected version is answered in-band (AppendResp.wrong_expected_version) with the
 * current revision; success carries the stream's revision and the log position of the write (WriteEventsCompleted:
 * the commit position, i.e. the last event's position for an implicit transaction), or no position when the write
 * was recognised as a retry of events a read cannot return.
 */
export function append(
  log: TransactionLog,
  maxAppendSize: number,
  call: ServerReadableStream<AppendReq, AppendResp>,
  cb: sendUnaryData<AppendResp>,
): void {
  let options: InstanceType<typeof streamsPb.AppendReq.Options> | undefined;
  const proposed: ProposedEvent[] = [];
  let size = 0;
  let answered = false;
  const answer: sendUnaryData<AppendResp> = (err, value) => {
    if (answered) return;
    answered = true;
    cb(err, value);
  };
  call.on('data', (req: AppendReq) => {
    if (answered) return;
    if (req.hasOptions()) {
      options = req.getOptions();
      return;
    }
    const m = req.getProposedMessage();
    if (!options || !m) {
      answer(rpcError(status.INVALID_ARGUMENT, 'options must come first'));
      return;
    }
    const meta = m.getMetadataMap();
    const type = meta.get('type');
    const contentType = meta.get('content-type');
    if (type === undefined || contentType === undefined) {
      answer(
        rpcError(status.INVALID_ARGUMENT, 'Required Metadata Property is missing', {
          exception: 'missing-required-metadata-property',
          'required-metadata-properties': type === undefined ? 'type' : 'content-type',
        }),
      );
      return;
    }
    const data = m.getData_asU8();
    const customMetadata = m.getCustomMetadata_asU8();
    size += sizeOnDisk(type, data, customMetadata);
    if (size > maxAppendSize) {
      answer(maxAppendSizeExceeded(maxAppendSize));
      return;
    }
    proposed.push({ id: parseUuid(m.getId()), type, contentType, data, customMetadata });
  });
  call.on('end', () => {
    if (answered) return;
    if (!options) return answer(rpcError(status.INVALID_ARGUMENT, 'options are required'));
    try {
      const name = streamName(options.getStreamIdentifier());
      const expected = expectedOf(options);
      const decision = checkCommit(
        log,
        name,
        expected,
        proposed.map((e) => e.id),
      );
      answer(null, respond(log, name, expected, decision, proposed));
    } catch (err) {
      answer(err as ServiceError);
    }
  });
}

function respond(
  log: TransactionLog,
  name: string,
  expected: ExpectedRevision,
  decision: CommitDecision,
  proposed: ProposedEvent[],
): AppendResp {
  switch (decision.kind) {
    case 'deleted':
      throw streamDeleted(name);
    case 'wrong-expected-version':
      return wrongExpectedVersion(expected, decision.current);
    case 'idempotent': {
      // The position only when a read returns the event (IndexWriter reads it through the stream's metadata).
      const at = log.visibleEvents(name).find((e) => e.revision === decision.lastRevision);
      return success(decision.lastRevision, at);
    }
    case 'ok': {
      if (proposed.length === 0) return success(decision.current, undefined);
      const first = decision.current + 1n;
      // Writing to a soft-deleted stream re-creates it: its revisions continue and `$tb` moves to the first new event.
      if (log.isSoftDeleted(name)) writeTruncateBefore(log, name, first);
      // Writing metadata to a soft-deleted stream re-creates it too: the metadata as written, then a second record
      // with `$tb` past the stream's last event, so the old events stay hidden but the stream is no longer deleted
      // (SoftDeleteTests.recreated_on_non_empty_when_metadata_set; StorageWriterService, SoftUndeleteMetastream).
      const original = name.startsWith('$$') ? name.slice(2) : undefined;
      const undelete = original !== undefined && log.isSoftDeleted(original);
      const written = log.write(name, first, proposed);
      if (undelete) writeTruncateBefore(log, original, log.lastRevision(original) + 1n);
      return success(written.at(-1)!.revision, written.at(-1));
    }
  }
}
