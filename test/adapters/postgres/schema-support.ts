import { readFile } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll } from 'vitest';
import { loadMigrations, renderMigration } from '../../../src/adapters/postgres/migrations.js';
import { quoteIdent, schemaLockKey } from '../../../src/adapters/postgres/schema.js';

/** Raw SQL on a server pool or a PGlite instance: one statement with parameters, or a script without. */
export interface RawSql {
  query<R>(text: string, params?: unknown[]): Promise<R[]>;
  exec(script: string): Promise<void>;
}

/**
 * One PGlite for the test file, started before its tests (starting PGlite compiles its WebAssembly, which takes
 * seconds on a busy machine: once per file, in a hook, rather than once per test) and closed after them. Tests
 * share it through schemas of their own.
 */
export function usePglite(): { readonly db: PGlite; readonly sql: RawSql } {
  let db: PGlite | undefined;
  beforeAll(async () => {
    db = await PGlite.create();
  });
  afterAll(async () => {
    await db?.close();
  });
  const opened = (): PGlite => {
    if (db === undefined) throw new Error('PGlite is not started yet');
    return db;
  };
  return {
    get db() {
      return opened();
    },
    sql: {
      query: async <R>(text: string, params?: unknown[]) => (await opened().query<R>(text, params)).rows,
      exec: async (script) => {
        await opened().exec(script);
      },
    },
  };
}

/** The frozen snapshot of a released schema version, for `schema` (see fixtures/schema-v*.sql). */
export async function frozenSchema(version: 1 | 2, schema: string): Promise<string> {
  const text = await readFile(new URL(`./fixtures/schema-v${version}.sql`, import.meta.url), 'utf8');
  return renderMigration(text, { schema: quoteIdent(schema), lockKey: schemaLockKey(schema) });
}

/** Applies the shipped migration files `from`..`to` as they are, without the ledger. */
export async function applyMigrationFiles(
  sql: RawSql,
  schema: string,
  from: number,
  to: number,
): Promise<void> {
  for (const m of await loadMigrations()) {
    if (m.version < from || m.version > to) continue;
    await sql.exec(renderMigration(m.text, { schema: quoteIdent(schema), lockKey: schemaLockKey(schema) }));
  }
}

/** What `append_events` of every released version returns. */
export interface RawOutcome {
  o_status: string;
  o_version: string;
  o_position: string;
  o_reason: string | null;
}

export interface RawEvent {
  id: string;
  type: string;
  data: unknown;
  metadata: Record<string, unknown>;
}

/** One append through the schema's own `append_events`, as the release that built the schema called it. */
export async function rawAppend(
  sql: RawSql,
  schema: string,
  streamId: string,
  expected: number,
  events: readonly RawEvent[],
): Promise<RawOutcome> {
  const rows = await sql.query<RawOutcome>(
    `SELECT o_status, o_version::text, o_position::text, o_reason
       FROM ${quoteIdent(schema)}.append_events($1, $2, $3::uuid[], $4::text[], $5::text[], $6::text[])`,
    [
      streamId,
      expected,
      events.map((e) => e.id),
      events.map((e) => e.type),
      events.map((e) => JSON.stringify(e.data)),
      events.map((e) => JSON.stringify(e.metadata)),
    ],
  );
  return rows[0]!;
}

/**
 * The schema's shape, with its name and lock key written as placeholders, so that two schemas built different
 * ways compare equal when they are the same: tables and columns, indexes and constraints, functions (signature,
 * body, settings).
 */
export async function catalog(sql: RawSql, schema: string): Promise<Record<string, unknown>> {
  const normalise = (text: string) =>
    text
      .replaceAll(`"${schema}"`, '__schema__')
      .replaceAll(schema, '__schema__')
      .replaceAll(String(schemaLockKey(schema)), '__lock_key__');
  const columns = await sql.query<Record<string, string>>(
    `SELECT table_name, column_name, data_type, is_nullable, coalesce(column_default, '') AS column_default
       FROM information_schema.columns WHERE table_schema = $1 ORDER BY table_name, ordinal_position`,
    [schema],
  );
  const indexes = await sql.query<{ indexname: string; indexdef: string }>(
    'SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 ORDER BY indexname',
    [schema],
  );
  const constraints = await sql.query<{ conname: string; def: string }>(
    `SELECT c.conname, pg_get_constraintdef(c.oid) AS def FROM pg_constraint c
       JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = $1 ORDER BY c.conname`,
    [schema],
  );
  const functions = await sql.query<{ proname: string; args: string; prosrc: string; config: string }>(
    `SELECT p.proname, pg_get_function_arguments(p.oid) AS args, p.prosrc,
            coalesce(array_to_string(p.proconfig, ','), '') AS config
       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1 ORDER BY p.proname`,
    [schema],
  );
  return {
    columns: columns.map((c) => Object.values(c).join(' ')),
    indexes: indexes.map((i) => normalise(i.indexdef)),
    constraints: constraints.map((c) => `${c.conname} ${c.def}`),
    functions: functions.map((f) => ({
      name: f.proname,
      args: f.args,
      config: f.config,
      body: normalise(f.prosrc),
    })),
  };
}
