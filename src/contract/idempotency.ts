import type { PreparedAppend } from './validate.js';

/**
 * What an append must do, decided from the stream's current state by the contract's idempotency rules.
 *
 * - `write`: a normal append at `currentVersion + 1 ..`.
 * - `duplicate`: the batch was already written; return the stored result for `lastVersion` and write nothing.
 * - `conflict`: `WRONG_EXPECTED_VERSION`.
 * - `empty`: an empty batch whose expected version holds; write nothing.
 */
export type AppendDecision =
  | { kind: 'write' }
  | { kind: 'duplicate'; lastVersion: number }
  | { kind: 'conflict'; reason: string }
  | { kind: 'empty' };

/** The parts of a stream's state the decision needs. Versions are 1-based. */
export interface StreamIdLookup {
  /** The stream's current version (0 when it has no events). */
  readonly currentVersion: number;
  /** The id of the event at `version`, or undefined when there is none (or it is outside the window). */
  idAt(version: number): string | undefined;
  /** The version of the event with this id among the stream's recent events, or undefined. */
  versionOf(id: string): number | undefined;
  /**
   * True when the stream is soft-deleted and not yet recreated: it reads as not existing, so `'no_stream'` (0) is
   * accepted as well as `currentVersion`, and `'stream_exists'` is a conflict (see `EventStore.deleteStream`).
   */
  readonly softDeleted?: boolean;
}

/**
 * Whether an expected version holds for a stream at `version` (0 = no events) that exists or not. A soft-deleted
 * stream has its last version but does not exist: it accepts 0 and its version. Deletes and truncations check their
 * expected version with this; appends with {@link decideAppend}, which applies the same rule.
 */
export function expectedVersionHolds(
  expected: 'any' | 'stream_exists' | number,
  stream: { version: number; softDeleted: boolean },
): boolean {
  if (expected === 'any') return true;
  const exists = stream.version > 0 && !stream.softDeleted;
  if (expected === 'stream_exists') return exists;
  return expected === stream.version || (expected === 0 && !exists);
}

/**
 * Applies the contract's concurrency and idempotency rules (see `EventStore.append`) to one stream's state.
 * Adapters that can read the stream's state atomically with the write use it; the others implement the same rules
 * in their backend (SQL, conditions) and prove it with the conformance suite.
 */
export function decideAppend(append: PreparedAppend, stream: StreamIdLookup): AppendDecision {
  const { events } = append;
  // An import past version 1 (validation made its expected version firstVersion - 1) finds a stream that never had
  // an event where the import puts it: at firstVersion - 1, the versions below firstVersion gone.
  const current =
    append.firstVersion !== undefined && stream.currentVersion === 0
      ? append.firstVersion - 1
      : stream.currentVersion;
  let expectedVersion = append.expectedVersion;
  if (stream.softDeleted) {
    if (expectedVersion === 'stream_exists') return { kind: 'conflict', reason: 'the stream was deleted' };
    // A soft-deleted stream reads as not existing, so 'no_stream' recreates it, at the version it carries on from.
    if (expectedVersion === 0) expectedVersion = current;
  }
  if (events.length === 0) {
    if (expectedVersion === 'any') return { kind: 'empty' };
    if (expectedVersion === 'stream_exists') {
      return current > 0 ? { kind: 'empty' } : { kind: 'conflict', reason: 'the stream does not exist' };
    }
    return expectedVersion === current ? { kind: 'empty' } : { kind: 'conflict', reason: 'version mismatch' };
  }
  if (typeof expectedVersion === 'number') {
    if (expectedVersion === current) return { kind: 'write' };
    if (expectedVersion > current)
      return { kind: 'conflict', reason: 'the stream is behind the expected version' };
    return matchFrom(events, expectedVersion + 1, stream);
  }
  const first = events[0]!;
  const found = stream.versionOf(first.id);
  if (found !== undefined) return matchFrom(events, found, stream);
  if (expectedVersion === 'stream_exists' && current === 0) {
    return { kind: 'conflict', reason: 'the stream does not exist' };
  }
  return { kind: 'write' };
}

function matchFrom(
  events: PreparedAppend['events'],
  startVersion: number,
  stream: StreamIdLookup,
): AppendDecision {
  for (let i = 0; i < events.length; i++) {
    const stored = stream.idAt(startVersion + i);
    if (stored !== events[i]!.id) {
      return { kind: 'conflict', reason: 'the event ids do not match a previous append' };
    }
  }
  return { kind: 'duplicate', lastVersion: startVersion + events.length - 1 };
}
