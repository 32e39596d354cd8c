import { randomUUID } from 'node:crypto';
import sharedPb from '@eventstore/db-client/generated/shared_pb.js';
import streamsGrpc from '@eventstore/db-client/generated/streams_grpc_pb.js';
import streamsPb from '@eventstore/db-client/generated/streams_pb.js';
import {
  Server,
  ServerCredentials,
  type ServerReadableStream,
  type ServerUnaryCall,
  type ServiceError,
  type sendUnaryData,
  status,
} from '@grpc/grpc-js';
import { maxAppendSizeExceeded, parseUuid, rpcError, streamDeleted, streamName } from './codec.js';
import { type CommitDecision, checkCommit, type ExpectedRevision } from './commit-check.js';
import {
  type LogEvent,
  type ProposedEvent,
  TOMBSTONE_REVISION,
  TransactionLog,
  type TransactionLogOptions,
} from './log.js';
import { handleRead, type ReadCall } from './read.js';
import { seedSystemEvents } from './system-events.js';

type AppendReq = InstanceType<typeof streamsPb.AppendReq>;
type AppendResp = InstanceType<typeof streamsPb.AppendResp>;

export type EmulatedMethod = 'Read' | 'Append' | 'Delete' | 'Tombstone';

/** A fault the next call to `method` suffers: a delay (to pass a deadline) and/or an error status. */
export interface Fault {
  method: EmulatedMethod;
  delayMs?: number;
  error?: { code: status; details: string; trailers?: Record<string, string> };
}

export interface EsdbEmulatorOptions extends TransactionLogOptions {
  /** The server's MaxAppendSize: total `data` bytes of one append (default 1,048,576, as the server's). */
  maxAppendSize?: number;
}

export interface EsdbEmulator {
  /** `esdb://127.0.0.1:<port>?tls=false` */
  readonly url: string;
  readonly port: number;
  readonly log: TransactionLog;
  /** Makes the next call to a method fail or stall. */
  injectFault(fault: Fault): void;
  stop(): Promise<void>;
}

/** The server's default MaxAppendSize (ClusterVNodeOptions: 1 MiB). */
export const DEFAULT_MAX_APPEND_SIZE = 1_048_576;

function expectedOf(o: {
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
function writeTruncateBefore(log: TransactionLog, stream: string, tb: bigint): void {
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
function append(
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

function checkDelete(log: TransactionLog, name: string, expected: ExpectedRevision): void {
  if (log.stream(name)?.tombstoned) throw streamDeleted(name);
  const current = log.lastRevision(name);
  const ok =
    expected.kind === 'any' ||
    (expected.kind === 'no_stream' && current < 0n) ||
    (expected.kind === 'stream_exists' && current >= 0n) ||
    (expected.kind === 'exact' && expected.revision === current);
  if (!ok) {
    throw rpcError(status.FAILED_PRECONDITION, 'Wrong expected version.', {
      exception: 'wrong-expected-version',
      'stream-name': name,
      'expected-version': expected.kind === 'exact' ? expected.revision.toString() : '-2',
      ...(current >= 0n ? { 'actual-version': current.toString() } : {}),
    });
  }
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

/** Streams.Delete: a soft delete, which writes `$tb` = long.MaxValue to the stream's metadata stream. */
function del(
  log: TransactionLog,
  call: ServerUnaryCall<InstanceType<typeof streamsPb.DeleteReq>, InstanceType<typeof streamsPb.DeleteResp>>,
  cb: sendUnaryData<InstanceType<typeof streamsPb.DeleteResp>>,
): void {
  try {
    const o = call.request.getOptions()!;
    const name = streamName(o.getStreamIdentifier());
    checkDelete(log, name, expectedOf(o));
    const state = log.stream(name);
    if (state) {
      state.softDeleted = true;
      state.truncateBefore = (state.events.at(-1)?.revision ?? -1n) + 1n;
    }
    writeTruncateBefore(log, name, TOMBSTONE_REVISION);
    cb(null, positionResp(new streamsPb.DeleteResp(), streamsPb.DeleteResp.Position, log.all.at(-1)!.commit));
  } catch (err) {
    cb(err as ServiceError);
  }
}

/** Streams.Tombstone: a hard delete; the tombstone record ($streamDeleted, revision long.MaxValue) is in $all. */
function tombstone(
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

/**
 * Starts an emulator of the EventStoreDB/KurrentDB Streams gRPC service on 127.0.0.1 (a free port, insecure), built
 * on the service definition `@eventstore/db-client` ships. ServerFeatures and BatchAppend are not implemented: the
 * client answers UNIMPLEMENTED from ServerFeatures with "unknown server version" and then uses plain Append.
 */
export async function startEsdbEmulator(options: EsdbEmulatorOptions = {}): Promise<EsdbEmulator> {
  const log = new TransactionLog(options);
  seedSystemEvents(log);
  const maxAppendSize = options.maxAppendSize ?? DEFAULT_MAX_APPEND_SIZE;
  const faults: Fault[] = [];

  /** Applies (once) a fault queued for `method`; returns the error to answer with, if any. */
  async function fault(method: EmulatedMethod): Promise<ServiceError | undefined> {
    const i = faults.findIndex((f) => f.method === method);
    if (i < 0) return undefined;
    const [f] = faults.splice(i, 1);
    if (f?.delayMs) await new Promise((r) => setTimeout(r, f.delayMs));
    return f?.error ? rpcError(f.error.code, f.error.details, f.error.trailers) : undefined;
  }

  const server = new Server();
  server.addService(streamsGrpc.StreamsService, {
    read: (call: ReadCall) => {
      void fault('Read').then((err) => {
        if (err) call.emit('error', err);
        else if (!call.cancelled) handleRead(log, call);
      });
    },
    append: (call: ServerReadableStream<AppendReq, AppendResp>, cb: sendUnaryData<AppendResp>) => {
      void fault('Append').then((err) => (err ? cb(err) : append(log, maxAppendSize, call, cb)));
    },
    delete: (call: Parameters<typeof del>[1], cb: Parameters<typeof del>[2]) => {
      void fault('Delete').then((err) => (err ? cb(err) : del(log, call, cb)));
    },
    tombstone: (call: Parameters<typeof tombstone>[1], cb: Parameters<typeof tombstone>[2]) => {
      void fault('Tombstone').then((err) => (err ? cb(err) : tombstone(log, call, cb)));
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    );
  });
  return {
    url: `esdb://127.0.0.1:${port}?tls=false`,
    port,
    log,
    injectFault: (f) => faults.push(f),
    stop: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 1_000).unref();
      }),
  };
}
