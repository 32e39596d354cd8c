import type { PreparedAppend } from '../../contract/index.js';
import { GroupCommitter } from '../../internal/group-commit.js';

/** One row of `append_events` / `append_events_batch`: what became of one append. */
export interface AppendRow {
  o_status: 'written' | 'duplicate' | 'empty' | 'conflict' | 'deleted';
  o_version: string | number;
  o_position: string | null;
  o_reason: string | null;
}

/** How the committer reaches the database. Both reject with the driver's own error. */
export interface AppendRunner {
  /** One append in its own transaction. */
  one(append: PreparedAppend): Promise<AppendRow>;
  /** Several appends in one transaction; one row per append, in order. */
  many(appends: readonly PreparedAppend[]): Promise<AppendRow[]>;
  /**
   * Whether a failed batch may have committed, or would fail again alone (a broken connection, a timeout): its
   * members then share the error instead of being retried one by one.
   */
  isShared(err: unknown): boolean;
}

export interface GroupCommitLimits {
  /** Group transactions in flight at once; appends that arrive while they are all busy wait and go together. */
  maxInFlight: number;
  /**
   * An append with more events or bytes than this is sent alone at once, outside the groups: it amortises its
   * own transaction, and it must not hold the small appends queued behind it.
   */
  maxEventsToGroup: number;
  maxBytesToGroup: number;
  /** A group stops growing at this many events, or bytes of event payload. */
  maxGroupEvents: number;
  maxGroupBytes: number;
}

/**
 * Group commit for PostgreSQL: the shared core (src/internal/group-commit.ts) with this adapter's parts. A group is
 * one `append_events_batch` call: one round trip, one transaction and one WAL flush for all of its appends, each
 * still all-or-nothing with its own outcome. Large appends skip the queue and go alone. A batch that the server
 * refuses as a whole (an error, not a conflict: those are per-append outcomes) is rolled back entirely, and its
 * members are then committed one by one, in order, so that each gets its own result.
 */
export function postgresGroupCommitter(
  runner: AppendRunner,
  limits: GroupCommitLimits,
): GroupCommitter<PreparedAppend, AppendRow> {
  return new GroupCommitter<PreparedAppend, AppendRow>({
    maxInFlight: limits.maxInFlight,
    alone: (a) => a.events.length > limits.maxEventsToGroup || a.bytes > limits.maxBytesToGroup,
    take: (waiting) => {
      // The longest prefix of the queue within the limits; at least one append.
      let events = 0;
      let bytes = 0;
      let n = 0;
      for (const a of waiting) {
        events += a.events.length;
        bytes += a.bytes;
        if (n > 0 && (events > limits.maxGroupEvents || bytes > limits.maxGroupBytes)) break;
        n++;
      }
      return waiting.slice(0, n);
    },
    commitOne: (a) => runner.one(a),
    commitMany: (appends) => runner.many(appends),
    isShared: (err) => runner.isShared(err),
  });
}
