import { InvalidArgumentError } from '../../contract/index.js';
import { appendFunction, batchAppendFunctions } from './append-function.js';
import type { SqlDriver } from './driver.js';

export { ORDINAL_BITS } from './positions.js';

/** Lower-case SQL identifiers only, so a name never needs quoting rules beyond the double quotes we add. */
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** Checks a schema name (INVALID_ARGUMENT otherwise) and returns it. */
export function validateSchemaName(schema: unknown): string {
  if (typeof schema !== 'string' || !IDENTIFIER.test(schema) || schema.startsWith('pg_')) {
    throw new InvalidArgumentError(
      'The schema name must be 1-63 characters of a-z, 0-9 and _, must not start with a digit or pg_',
      { argument: 'schema' },
    );
  }
  return schema;
}

/** A 31-bit key derived from the schema name: the advisory-lock class of this schema's per-stream locks. */
export function schemaLockKey(schema: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < schema.length; i++) {
    h ^= schema.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h & 0x7fffffff;
}

/** The single-bigint advisory lock that serialises migrations of every schema (a constant: "evstore1"). */
const MIGRATION_LOCK = '7310874340221629745';

interface Migration {
  version: number;
  name: string;
  sql: (s: string, lockKey: number) => string;
}

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'events, streams, snapshots, checkpoints, append_events',
    sql: (s, lockKey) => `
CREATE TABLE ${s}.streams (
  stream_id text PRIMARY KEY,
  stream_type text NOT NULL,
  version bigint NOT NULL,
  last_position bigint NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
-- event_data and metadata are json, not jsonb: json keeps the exact text, and jsonb rejects "\\u0000".
CREATE TABLE ${s}.events (
  global_position bigint PRIMARY KEY,
  stream_id text NOT NULL,
  version bigint NOT NULL,
  id uuid NOT NULL,
  stream_type text NOT NULL,
  event_type text NOT NULL,
  event_data json NOT NULL,
  metadata json NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT events_stream_version_key UNIQUE (stream_id, version)
);
-- Idempotency lookups of an event id over the whole stream. Not unique: rule 2 allows an id again.
CREATE INDEX events_stream_id_idx ON ${s}.events (stream_id, id);
CREATE INDEX events_type_position_idx ON ${s}.events (event_type, global_position);
CREATE INDEX events_created_at_idx ON ${s}.events (created_at);
CREATE TABLE ${s}.snapshots (
  stream_id text PRIMARY KEY,
  snapshot_type text NOT NULL,
  version bigint NOT NULL,
  data json NOT NULL,
  metadata json NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE ${s}.subscription_checkpoints (
  subscription_id text PRIMARY KEY,
  position bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
${appendFunction(s, lockKey)}`,
  },
  {
    version: 2,
    name: 'append_events_batch: group commit of concurrent appends',
    sql: (s, lockKey) => batchAppendFunctions(s, lockKey),
  },
];

/** The latest schema version this code knows. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/**
 * Creates or upgrades the schema. Idempotent, and safe when several processes start at once: everything runs in
 * one transaction that first takes a cluster-wide advisory lock, so the second process waits, then finds the
 * migrations applied. DDL in PostgreSQL is transactional, so a failed migration leaves nothing behind.
 */
export async function migrate(driver: SqlDriver, schema: string): Promise<void> {
  const s = quoteIdent(schema);
  await driver.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`);
    await tx.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await tx.query(
      `CREATE TABLE IF NOT EXISTS ${s}.schema_migrations (
         version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const rows = await tx.query<{ v: number | null }>(`SELECT max(version) AS v FROM ${s}.schema_migrations`);
    const current = rows[0]?.v ?? 0;
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      await tx.exec(m.sql(s, schemaLockKey(schema)));
      await tx.query(`INSERT INTO ${s}.schema_migrations (version, name) VALUES ($1, $2)`, [
        m.version,
        m.name,
      ]);
    }
  });
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
