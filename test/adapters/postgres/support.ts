import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

/** A schema name no other test file uses. */
export function uniqueSchema(prefix = 't'): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

/** The rig's server URL with `?schema=` set. */
export function serverUrl(schema: string): string {
  const url = new URL(inject('postgresUrl'));
  url.searchParams.set('schema', schema);
  return url.toString();
}

/** A pool on the rig's server that the test owns (for raw SQL checks). Idle-connection errors are ignored. */
export function testPool(max = 4): pg.Pool {
  const pool = new pg.Pool({ connectionString: inject('postgresUrl'), max });
  pool.on('error', () => {});
  return pool;
}
