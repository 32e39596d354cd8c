import { ErrorCodes, EventStoreError } from '../../contract/index.js';

/** An EventStoreDB log position: where the event's commit record and its own (prepare) record start. */
export interface LogPosition {
  commit: bigint;
  prepare: bigint;
}

/** Bits given to the prepare position: all of a server position (a signed 64-bit integer), and one to spare. */
export const PREPARE_BITS = 64n;
const PREPARE_MASK = (1n << PREPARE_BITS) - 1n;
/** The largest log position the server can write (`long.MaxValue`). */
export const MAX_LOG_POSITION = (1n << 63n) - 1n;
/** The largest position this adapter can return: that of {commit, prepare} = {2^63 − 1, 2^63 − 1}, below 2^127. */
export const MAX_POSITION = (MAX_LOG_POSITION << PREPARE_BITS) + MAX_LOG_POSITION + 1n;

/**
 * Whether the server sent a real position. A stream read of an event written in an explicit transaction (the legacy
 * TCP API) has none: the server sends -1 as an unsigned number, 2^64 − 1, for both parts.
 */
export function hasLogPosition(p: LogPosition | undefined): p is LogPosition {
  return p !== undefined && p.commit <= MAX_LOG_POSITION && p.prepare <= MAX_LOG_POSITION;
}

/**
 * Encodes {commit, prepare} into one bigint that orders exactly like the pair (commit first, then prepare) and
 * decodes back to it, for every pair the server can write:
 *
 *     position = commit · 2^64 + prepare + 1
 *
 * Why not something smaller: $all orders events by commit, then prepare. Events written through gRPC have
 * commit = prepare, but an explicit transaction (legacy TCP API) gave all its events the position of its commit
 * record, written after every prepare, with other clients' writes in between and no bound on the distance. An
 * order-preserving, reversible encoding must then leave room under each commit position c for every prepare
 * position below it, so any such encoding grows at least like c²/2 and passes 2^63 once the log passes about 4 GiB.
 * This one passes it for every event (commit ≥ 1 on a real log), so code that stores positions learns on the first
 * event, not the first large log, that they need more than 64 bits: store them as text or NUMERIC(39).
 *
 * Throws BACKEND_ERROR for a pair outside the server's range (negative, or the "no position" marker 2^64 − 1).
 */
export function encodePosition({ commit, prepare }: LogPosition): bigint {
  if (commit < 0n || prepare < 0n || commit > MAX_LOG_POSITION || prepare > MAX_LOG_POSITION) {
    throw new EventStoreError(
      ErrorCodes.BACKEND_ERROR,
      `EventStoreDB log position {commit: ${commit}, prepare: ${prepare}} is not a position the server writes`,
    );
  }
  return (commit << PREPARE_BITS) + prepare + 1n;
}

/**
 * The inverse of {@link encodePosition}, total on every bigint ≥ 1: a bijection between those and the pairs with
 * 0 ≤ prepare < 2^64, so a number between two events' positions decodes to a pair between theirs (`prepare` may
 * then exceed `commit`, or 2^63 − 1, for numbers no event has).
 */
export function decodePosition(position: bigint): LogPosition {
  const x = position - 1n;
  return { commit: x >> PREPARE_BITS, prepare: x & PREPARE_MASK };
}
