import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, inject } from 'vitest';
import { createPostgresEventStore, type PostgresEventStore } from '../../../src/adapters/postgres/index.js';

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
