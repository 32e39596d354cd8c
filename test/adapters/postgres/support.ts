import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, inject } from 'vitest';
import { createPostgresEventStore, type PostgresEventStore } from '../../../src/adapters/postgres/index.js';
import { ORDINAL_BITS } from '../../../src/adapters/postgres/positions.js';

/** A schema name no other test file uses. */
export function uniqueSchema(prefix = 't'): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

/** The rig's server URL with `?schema=` set (`server` picks the adapter tests' or the suite's server). */
export function serverUrl(
  schema: string,
  server: 'postgresUrl' | 'postgresConformanceUrl' = 'postgresUrl',
): string {
  const url = new URL(inject(server));
  url.searchParams.set('schema', schema);
  return url.toString();
}

/** A pool on the rig's server that the test owns (for raw SQL checks). Idle-connection errors are ignored. */
export function testPool(max = 4): pg.Pool {
  const pool = new pg.Pool({ connectionString: inject('postgresUrl'), max });
  pool.on('error', () => {});
  return pool;
}

/** A store on its own schema and a raw pool beside it, opened before the file's tests and closed after them. */
export function useServerStore(
  prefix: string,
  poolSize = 6,
): { readonly pool: pg.Pool; readonly store: PostgresEventStore; schema: string } {
  const schema = uniqueSchema(prefix);
  let pool: pg.Pool | undefined;
  let store: PostgresEventStore | undefined;
  beforeAll(async () => {
    pool = testPool(poolSize);
    store = await createPostgresEventStore(pool, { schema });
  });
  afterAll(async () => {
    await store?.close();
    await pool?.end();
  });
  return {
    schema,
    get pool() {
      if (!pool) throw new Error('not open yet');
      return pool;
    },
    get store() {
      if (!store) throw new Error('not open yet');
      return store;
    },
  };
}

/**
 * Resolves once readAll on the rig's server can return the event at `position`: once every transaction older than
 * the one that wrote it has ended, which is readAll's no-skip horizon (positions are the writing transaction's id
 * shifted by ORDINAL_BITS). Other test files on this server hold transactions open on purpose, so a test that
 * reads its own appends through readAll waits for this condition, for as long as they hold them.
 */
export async function untilReadAllReaches(
  pool: pg.Pool,
  position: bigint,
  timeoutMs = 60_000,
): Promise<void> {
  const xid = (position >> BigInt(ORDINAL_BITS)).toString();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await pool.query<{ reached: boolean }>(
      'SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint > $1::bigint AS reached',
      [xid],
    );
    if (rows[0]?.reached) return;
    if (Date.now() > deadline) {
      throw new Error(`readAll's horizon did not pass transaction ${xid} within ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
