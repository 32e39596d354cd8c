/**
 * The server's size limits, and the contract limits that are safe under them.
 *
 * The server counts each event as data bytes + metadata bytes + 2 × the type's length in UTF-16 code units
 * (Event.SizeOnDisk, kurrent-io/KurrentDB src/KurrentDB.Core/Data/Event.cs) and refuses an append whose sum passes
 * MaxAppendSize (Streams.Append.cs): 1 MiB by default up to v25.0; from v25.1, 256 MiB, and each event at most
 * MaxAppendEventSize, 16 MiB. (Servers before SizeOnDisk counted data bytes only, which is never more.) The
 * contract counts the UTF-8 bytes of type + data JSON + metadata JSON. The type's UTF-8 bytes are at least its
 * UTF-16 length, and an event's data and metadata JSON take at least 3 bytes (`0` and `{}`), so the server's count
 * of an event is below twice the contract's, whatever the type: half of each server limit is a contract limit that
 * the server never refuses. That halving is the price of a type of any length; a tighter declaration would let a
 * batch with long types through the contract check and then fail on the server.
 */
export interface ServerLimits {
  /** The server's MaxAppendSize (default 1,048,576, as up to v25.0). */
  maxAppendSize: number;
  /** The server's MaxAppendEventSize (v25.1 and later); the log's record limit, 16 MiB, when unset. */
  maxAppendEventSize: number;
}

/** MaxAppendSize up to v25.0 (ClusterVNodeOptions). */
export const DEFAULT_MAX_APPEND_SIZE = 1_048_576;
/** The largest log record (TFConsts.MaxLogRecordSize), and MaxAppendEventSize's default from v25.1. */
export const MAX_RECORD_SIZE = 16 * 1024 * 1024;

/** The server's count of one event (Event.SizeOnDisk) from the contract's JSON texts. */
export function serverEventSize(type: string, dataBytes: number, metadataBytes: number): number {
  return dataBytes + metadataBytes + 2 * type.length;
}

/** The contract limits declared for a server with these limits: half of each (see above). */
export function declaredLimits(server: ServerLimits): { maxEventBytes: number; maxAppendBytes: number } {
  const maxAppendBytes = Math.floor(server.maxAppendSize / 2);
  const maxEventBytes = Math.min(maxAppendBytes, Math.floor(server.maxAppendEventSize / 2));
  return { maxEventBytes, maxAppendBytes };
}
