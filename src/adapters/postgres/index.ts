import type { PGliteInterface } from '@electric-sql/pglite';
import type { Pool } from 'pg';
import { PgliteDriver, PgPoolDriver } from './driver.js';
import { checkOptions, openStore } from './open-store.js';
import {
  DEFAULT_MAX_IN_FLIGHT,
  type PostgresEventStore,
  type PostgresEventStoreOptions,
} from './postgres-event-store.js';

export {
  DEFAULT_MAX_IN_FLIGHT,
  POSTGRES_CAPABILITIES,
  PostgresEventStore,
  type PostgresEventStoreOptions,
} from './postgres-event-store.js';
export type { PostgresTransaction } from './subscriptions.js';

/**
 * A store on an existing node-postgres pool. The caller keeps the pool and closes it; `store.close()` leaves
 * it open. The pool should use READ COMMITTED (PostgreSQL's default).
 *
 * @example
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * const store = await createPostgresEventStore(pool, { schema: 'orders' });
 */
export async function createPostgresEventStore(
  pool: Pool,
  options: PostgresEventStoreOptions = {},
): Promise<PostgresEventStore> {
  return openStore(new PgPoolDriver(pool, false), checkOptions(options, DEFAULT_MAX_IN_FLIGHT));
}

/** A store on an existing PGlite instance, which the caller keeps and closes. Runs the same SQL as on a server. */
export async function createPgliteEventStore(
  db: PGliteInterface,
  options: PostgresEventStoreOptions = {},
): Promise<PostgresEventStore> {
  return openStore(new PgliteDriver(db, false), checkOptions(options, 1));
}
