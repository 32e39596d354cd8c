import sharedPb from '@eventstore/db-client/generated/shared_pb.js';
import streamsPb from '@eventstore/db-client/generated/streams_pb.js';
import { Metadata, type ServiceError, status } from '@grpc/grpc-js';
import type { LogEvent } from './log.js';

/** Protobuf <-> emulator values, following the field meanings of streams.proto and shared.proto. */

export function streamName(identifier: InstanceType<typeof sharedPb.StreamIdentifier> | undefined): string {
  if (!identifier) throw rpcError(status.INVALID_ARGUMENT, 'stream_identifier is required');
  return Buffer.from(identifier.getStreamName_asU8()).toString('utf8');
}

export function streamIdentifier(name: string): InstanceType<typeof sharedPb.StreamIdentifier> {
  const id = new sharedPb.StreamIdentifier();
  id.setStreamName(Buffer.from(name, 'utf8'));
  return id;
}

/** Reads a UUID in either wire form (string or structured most/least significant bits). */
export function parseUuid(uuid: InstanceType<typeof sharedPb.UUID> | undefined): string {
  if (!uuid) throw rpcError(status.INVALID_ARGUMENT, 'id is required');
  if (uuid.hasStructured()) {
    const s = uuid.getStructured()!;
    const buf = Buffer.alloc(16);
    buf.writeBigInt64BE(BigInt(s.getMostSignificantBits()), 0);
    buf.writeBigInt64BE(BigInt(s.getLeastSignificantBits()), 8);
    const hex = buf.toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
  return uuid.getString().toLowerCase();
}

/** Writes a UUID in the form the reader asked for (ReadReq.Options.UUIDOption). */
export function makeUuid(id: string, structured: boolean): InstanceType<typeof sharedPb.UUID> {
  const uuid = new sharedPb.UUID();
  if (!structured) {
    uuid.setString(id);
    return uuid;
  }
  const buf = Buffer.from(id.replaceAll('-', ''), 'hex');
  const s = new sharedPb.UUID.Structured();
  s.setMostSignificantBits(buf.readBigInt64BE(0).toString());
  s.setLeastSignificantBits(buf.readBigInt64BE(8).toString());
  uuid.setStructured(s);
  return uuid;
}

/** What the server sends for a position it does not have: -1 as an unsigned 64-bit number (Position.FromInt64). */
export const NO_POSITION = '18446744073709551615';

/**
 * A ReadResp carrying one event, as the server's ConvertToReadEvent builds it (kurrent-io/KurrentDB,
 * src/KurrentDB.Core/Services/Transport/Grpc/Streams.Read.cs, ResponseConverter). $all reads always know the
 * event's {commit, prepare}. A stream read knows it only for an event that is its own commit (a prepare flagged
 * IsCommitted, every event written through gRPC); an event of an explicit transaction comes with commit = prepare
 * = 2^64 − 1 and `no_position`.
 */
export function eventResponse(
  e: LogEvent,
  structuredUuid: boolean,
  read: 'stream' | 'all',
): InstanceType<typeof streamsPb.ReadResp> {
  const known = read === 'all' || e.commit === e.prepare;
  const record = new streamsPb.ReadResp.ReadEvent.RecordedEvent();
  record.setId(makeUuid(e.id, structuredUuid));
  record.setStreamIdentifier(streamIdentifier(e.streamId));
  record.setStreamRevision(e.revision.toString());
  record.setPreparePosition(known ? String(e.prepare) : NO_POSITION);
  record.setCommitPosition(known ? String(e.commit) : NO_POSITION);
  const meta = record.getMetadataMap();
  meta.set('type', e.type);
  meta.set('content-type', e.contentType);
  meta.set('created', e.created.toString());
  record.setCustomMetadata(e.customMetadata);
  record.setData(e.data);
  const readEvent = new streamsPb.ReadResp.ReadEvent();
  readEvent.setEvent(record);
  if (known) readEvent.setCommitPosition(String(e.commit));
  else readEvent.setNoPosition(new sharedPb.Empty());
  const resp = new streamsPb.ReadResp();
  resp.setEvent(readEvent);
  return resp;
}

/**
 * An RPC error the way the server's RpcExceptions builds them: a status code, and for the domain errors an
 * `exception` trailer (plus details such as `stream-name`) that the client turns into its typed errors.
 */
export function rpcError(code: status, details: string, trailers: Record<string, string> = {}): ServiceError {
  const metadata = new Metadata();
  for (const [k, v] of Object.entries(trailers)) metadata.set(k, v);
  return Object.assign(new Error(details), { code, details, metadata });
}

/** RpcExceptions.StreamDeleted: FailedPrecondition with exception=stream-deleted. */
export function streamDeleted(name: string): ServiceError {
  return rpcError(status.FAILED_PRECONDITION, `Event stream '${name}' is deleted.`, {
    exception: 'stream-deleted',
    'stream-name': name,
  });
}

/** RpcExceptions.MaxAppendSizeExceeded: InvalidArgument with exception=maximum-append-size-exceeded. */
export function maxAppendSizeExceeded(max: number): ServiceError {
  return rpcError(status.INVALID_ARGUMENT, `Maximum Append Size of ${max} Exceeded.`, {
    exception: 'maximum-append-size-exceeded',
    'maximum-append-size': String(max),
  });
}
