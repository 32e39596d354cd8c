import type { PoolConfig } from 'pg';
import type { Deadlines } from '../../url-options.js';

/**
 * How long after the server's own `statement_timeout` the client stops waiting: a live server cancels the statement
 * itself (57014, the transaction rolled back, the connection kept); a frozen or vanished one never answers, and the
 * client's `query_timeout` then fails the call and the pool discards the connection.
 */
const CLIENT_GRACE_MS = 250;
/** Idle time before the first TCP keepalive probe on a pooled connection. */
export const KEEPALIVE_IDLE_MS = 5_000;

/**
 * The pool's deadlines. Every one of them ends in TIMEOUT through {@link mapError}:
 * - `connectionTimeoutMillis`: getting a connection, whether a new one (TCP, TLS, authentication) or a free pooled
 *   one while all are busy;
 * - `statement_timeout` (sent at connect, so it holds for the session): the server cancels a statement that runs
 *   longer than the call deadline; `query_timeout`: the client gives up {@link CLIENT_GRACE_MS} later when no answer
 *   came at all (a frozen server), and pg-pool then destroys that connection instead of reusing it;
 * - `idle_in_transaction_session_timeout`: the server ends a session whose client vanished inside a transaction, so
 *   its locks do not outlive it;
 * - TCP keepalive on every connection, so a connection whose server vanished without a FIN is found out while idle;
 *   pg-pool also closes idle connections after 10 s (`idleTimeoutMillis`), so a half-open one is rarely reused.
 */
export function deadlineConfig(d: Deadlines): PoolConfig {
  return {
    connectionTimeoutMillis: d.connectTimeoutMs,
    statement_timeout: d.timeoutMs,
    query_timeout: d.timeoutMs + CLIENT_GRACE_MS,
    idle_in_transaction_session_timeout: d.timeoutMs,
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_IDLE_MS,
  };
}
