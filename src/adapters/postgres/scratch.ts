import type { PostgresEventStore } from './postgres-event-store.js';

/** Runs one statement and returns its rows (the CLI's bench floor and scratch namespaces). */
export type RawQuery = (text: string, params?: unknown[]) => Promise<Array<Record<string, unknown>>>;

/** A pool on the server `url` names (its `schema` parameter ignored), for raw statements beside a store. */
export async function serverQuery(url: string): Promise<{ query: RawQuery; close(): Promise<void> }> {
  const { default: pg } = await import('pg');
  const base = new URL(url);
  base.searchParams.delete('schema');
  const pool = new pg.Pool({ connectionString: base.toString(), max: 10 });
  pool.on('error', () => {});
  return { query: async (text, params) => (await pool.query(text, params)).rows, close: () => pool.end() };
}

/** Drops `schema` and everything in it on the server `url` names. */
export async function dropServerSchema(url: string, schema: string): Promise<void> {
  const { query, close } = await serverQuery(url);
  try {
    await query(`DROP SCHEMA IF EXISTS "${schema.replaceAll('"', '""')}" CASCADE`);
  } finally {
    await close();
  }
}

/**
 * One PGlite (in memory, or the data directory `where`) shared by every store of a run on the scratch schema
 * `schema`, since a data directory takes one PGlite at a time; `dispose` drops the schema and closes PGlite.
 */
export async function openPgliteScratch(
  where: string,
  schema: string,
): Promise<{ create(): Promise<PostgresEventStore>; query: RawQuery; dispose(): Promise<void> }> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { createPgliteEventStore } = await import('./index.js');
  const db = where === 'memory' ? new PGlite() : new PGlite(where);
  await db.waitReady;
  return {
    create: () => createPgliteEventStore(db, { schema }),
    query: async (text, params) => (await db.query<Record<string, unknown>>(text, params)).rows,
    dispose: async () => {
      await db.exec(`DROP SCHEMA IF EXISTS "${schema.replaceAll('"', '""')}" CASCADE`);
      await db.close();
    },
  };
}
