import { ORDINAL_BITS } from './positions.js';

/**
 * The subscription statements, for the schema `s` (quoted). Tables are in migration 0007_subscriptions.sql.
 * Lease times are the server's clock, so instances on different hosts agree on expiry.
 */
export function subscriptionStatements(s: string) {
  return {
    loadCheckpoint: `SELECT position::text AS position FROM ${s}.subscription_checkpoints WHERE name = $1`,
    saveCheckpoint: `INSERT INTO ${s}.subscription_checkpoints AS c (name, position) VALUES ($1, $2::bigint)
      ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position, updated_at = now()`,
    deleteCheckpoint: `DELETE FROM ${s}.subscription_checkpoints WHERE name = $1`,
    // Takes the row when it is free, expired or already this owner's; a row comes back only when it did.
    acquireLease: `INSERT INTO ${s}.subscription_leases AS l (name, owner, expires_at)
      VALUES ($1, $2::uuid, clock_timestamp() + $3::integer * interval '1 millisecond')
      ON CONFLICT (name) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
        WHERE l.owner = EXCLUDED.owner OR l.expires_at <= clock_timestamp()
      RETURNING 1 AS held`,
    releaseLease: `DELETE FROM ${s}.subscription_leases WHERE name = $1 AND owner = $2::uuid`,
    // In a transactional handler's transaction: the lease is still this owner's, and stays so until it commits.
    holdLease: `SELECT 1 AS held FROM ${s}.subscription_leases
      WHERE name = $1 AND owner = $2::uuid AND expires_at > clock_timestamp() FOR SHARE`,
    // What readAll returns last now: below its no-skip horizon (see the readAll statement).
    lastPosition: `SELECT coalesce(max(global_position), 0)::text AS position FROM ${s}.events
      WHERE global_position < (pg_snapshot_xmin(pg_current_snapshot())::text::bigint << ${ORDINAL_BITS})`,
    notify: 'SELECT pg_notify($1, NULL)',
  };
}

export type SubscriptionKey = keyof ReturnType<typeof subscriptionStatements>;

/**
 * Sends the wake-up NOTIFY after appends have committed, coalesced: at most one is in flight, and appends that
 * commit meanwhile share the next one. Sent outside the append's transaction, because a NOTIFY inside it takes the
 * notification queue's lock at commit and so serialises every committing append behind it; the cost is one small
 * statement per burst of appends, on one pooled connection. A failed NOTIFY is dropped: subscribers poll as well.
 */
export class Notifier {
  readonly #send: () => Promise<unknown>;
  #inFlight: Promise<void> | undefined;
  #again = false;

  constructor(send: () => Promise<unknown>) {
    this.#send = send;
  }

  poke(): void {
    if (this.#inFlight !== undefined) {
      this.#again = true;
      return;
    }
    this.#inFlight = this.#loop();
  }

  async #loop(): Promise<void> {
    do {
      this.#again = false;
      await this.#send().catch(() => {});
    } while (this.#again);
    this.#inFlight = undefined;
  }

  /** Resolves once no NOTIFY is in flight. */
  async drained(): Promise<void> {
    while (this.#inFlight !== undefined) await this.#inFlight;
  }
}

/**
 * The transaction a `transactional: true` subscription's handler receives as `context.tx` on PostgreSQL and
 * PGlite: statements run in the transaction that also saves the checkpoint, committed after the handler resolves.
 *
 * @example
 * store.subscribe({ name: 'totals', transactional: true, handler: async (e, { tx }) => {
 *   await (tx as PostgresTransaction).query('INSERT INTO totals (id, n) VALUES ($1, 1)', [e.id]);
 * } });
 */
export interface PostgresTransaction {
  /** Runs one statement with parameters (`$1` …) in the transaction and returns its rows. */
  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<R[]>;
}
