import { randomUUID } from 'node:crypto';
import sharedPb from '@eventstore/db-client/generated/shared_pb.js';
import streamsPb from '@eventstore/db-client/generated/streams_pb.js';
import { type ServerReadableStream, type ServiceError, type sendUnaryData, status } from '@grpc/grpc-js';
import { maxAppendSizeExceeded, parseUuid, rpcError, streamDeleted, streamName } from './codec.js';
import { type CommitDecision, checkCommit, type ExpectedRevision } from './commit-check.js';
import type { LogEvent, ProposedEvent, TransactionLog } from './log.js';

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

/** Writes `$metadata` to `$$stream`, as the server does for soft delete and re-creation (`$tb`). */
export function writeTruncateBefore(log: TransactionLog, stream: string, tb: bigint): void {
  const meta = `$$${stream}`;
  const data = Buffer.from(`{"$tb":${tb.toString()}}`, 'utf8');
  log.write(meta, log.lastRevision(meta) + 1n, [
    {
      id: randomUUID(),
      type: '$metadata',
      contentType: 'application/json',
      data,
      customMetadata: new Uint8Array(),
    },
  ]);
}

/**
 * Streams.Append (client streaming: options, then proposed messages), after Streams.Append.cs: the server sums the
 * `data` bytes and fails with MaximumAppendSizeExceeded past MaxAppendSize; `type` and `content-type` metadata are
 * required; a wrong expected version is answered in-band (AppendResp.wrong_expected_version) with the current
 * revision; success carries the stream's revision and the log position of the write (WriteEventsCompleted: the
 * commit position, i.e. the last event's position for an implicit transaction).
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
  let failed: ServiceError | undefined;
  call.on('data', (req: AppendReq) => {
    if (failed) return;
    if (req.hasOptions()) {
      options = req.getOptions();
      return;
    }
    const m = req.getProposedMessage();
    if (!options || !m) {
      failed = rpcError(status.INVALID_ARGUMENT, 'options must come first');
      return;
    }
    const data = m.getData_asU8();
    size += data.length;
    if (size > maxAppendSize) {
      failed = maxAppendSizeExceeded(maxAppendSize);
      return;
    }
    const meta = m.getMetadataMap();
    const type = meta.get('type');
    const contentType = meta.get('content-type');
    if (type === undefined || contentType === undefined) {
      failed = rpcError(status.INVALID_ARGUMENT, 'Required Metadata Property is missing', {
        exception: 'missing-required-metadata-property',
        'required-metadata-properties': type === undefined ? 'type' : 'content-type',
      });
      return;
    }
    proposed.push({
      id: parseUuid(m.getId()),
      type,
      contentType,
      data,
      customMetadata: m.getCustomMetadata_asU8(),
    });
  });
  call.on('end', () => {
    if (failed) return cb(failed);
    if (!options) return cb(rpcError(status.INVALID_ARGUMENT, 'options are required'));
    try {
      const name = streamName(options.getStreamIdentifier());
      const expected = expectedOf(options);
      const decision = checkCommit(
        log,
        name,
        expected,
        proposed.map((e) => e.id),
      );
      cb(null, respond(log, name, expected, decision, proposed));
    } catch (err) {
      cb(err as ServiceError);
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
      const state = log.stream(name)!;
      const at = state.events.find((e) => e.revision === decision.lastRevision);
      return success(decision.lastRevision, at);
    }
    case 'ok': {
      if (proposed.length === 0) return success(decision.current, undefined);
      const state = log.stream(name);
      let first = decision.current + 1n;
      if (state?.softDeleted) {
        // Re-creating a soft-deleted stream continues its revisions and moves $tb to the first new event.
        first = (state.events.at(-1)?.revision ?? -1n) + 1n;
        state.softDeleted = false;
        state.truncateBefore = first;
        writeTruncateBefore(log, name, first);
      }
      const written = log.write(name, first, proposed);
      return success(written.at(-1)!.revision, written.at(-1));
    }
  }
}
