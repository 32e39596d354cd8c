import { ErrorCodes, EventStoreError } from '../../contract/index.js';

/** An EventStoreDB log position: where the event's commit record and its own (prepare) record start. */
export interface LogPosition {
  commit: bigint;
  prepare: bigint;
}

/**
 * Bits given to the distance between an event's commit and prepare positions. 24 bits: up to 16 MiB - 1, the
 * server's largest record (and its largest configurable MaxAppendSize).
 *
 * Why the distance fits: the server writes each event of an append as a prepare record flagged IsCommitted (an
 * implicit transaction), and $all reports such an event at commit = prepare = its own log position, so the
 * distance is 0 for everything written through gRPC. Only explicit transactions of the legacy TCP API wrote a
 * separate commit record after the prepares (commit > prepare, never <), and then the distance is the bytes written
 * between a prepare and its commit. With 24 bits, commit positions below 2^39 (512 GiB of log) keep the position
 * inside a signed 64-bit integer, which is what most places a checkpoint is stored in; past that positions are
 * still exact, only larger.
 */
export const OFFSET_BITS = 24n;
const OFFSET_LIMIT = 1n << OFFSET_BITS;

/**
 * Encodes {commit, prepare} into one bigint ≥ 1 that orders like the pair (commit first, then prepare):
 *
 *     position = ((commit + 1) << 24) - (commit - prepare)
 *
 * For a gRPC-written event (commit = prepare = p) that is simply (p + 1) · 2^24. Order is preserved because every
 * event with a larger commit lands in a later 2^24-wide band, and within a band a larger prepare means a smaller
 * distance, hence a larger position.
 *
 * Throws BACKEND_ERROR for a pair the encoding cannot hold (prepare after commit, or 16 MiB or more before it).
 */
export function encodePosition({ commit, prepare }: LogPosition): bigint {
  const distance = commit - prepare;
  if (commit < 0n || distance < 0n || distance >= OFFSET_LIMIT) {
    throw new EventStoreError(
      ErrorCodes.BACKEND_ERROR,
      `EventStoreDB log position {commit: ${commit}, prepare: ${prepare}} cannot be encoded: the prepare position ` +
        `must be at most ${OFFSET_LIMIT - 1n} bytes before the commit position`,
    );
  }
  return ((commit + 1n) << OFFSET_BITS) - distance;
}

/**
 * The inverse of {@link encodePosition}, for every bigint ≥ 1: the pair whose encoding it is. (Every integer lies in
 * exactly one band, so `decodePosition(x)` is the lexicographically smallest pair whose position is ≥ x; `prepare`
 * can come out negative for numbers no event has.)
 */
export function decodePosition(position: bigint): LogPosition {
  const commit = ((position + OFFSET_LIMIT - 1n) >> OFFSET_BITS) - 1n;
  const distance = ((commit + 1n) << OFFSET_BITS) - position;
  return { commit, prepare: commit - distance };
}
