import { InvalidArgumentError } from '../../contract/index.js';
import type { SqlDriver } from './driver.js';

/**
 * Positions encode (transaction id, ordinal): `position = xid8 << ORDINAL_BITS | ordinal`, where xid8 is the
 * 64-bit id of the transaction that wrote the event (`pg_current_xact_id()`) and the ordinal counts the
 * transaction's events from 0. So readAll order is commit-safe transaction order, then batch order, and one
 * bigint carries both. 20 bits give up to 1,048,576 events per transaction and leave 43 bits (8.8 × 10¹²) of
 * transaction ids.
 */
export const ORDINAL_BITS = 20;

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

/**
 * `append_events`: one call = one append, so one round trip. Returns status `written`, `duplicate`, `empty` or
 * `conflict` (with a reason), the stream's resulting version (or the current one on conflict) and the last
 * position. `p_expected` is -1 for 'any', -2 for 'stream_exists', otherwise the exact version.
 *
 * The per-stream advisory lock is taken before the transaction writes anything, so its transaction id is
 * assigned after the previous append to the stream committed. Positions therefore follow versions within a
 * stream; the check against `streams.last_position` guards that and raises 40001 if it ever did not hold.
 */
function appendFunction(s: string, lockKey: number): string {
  return `
CREATE OR REPLACE FUNCTION ${s}.append_events(
  p_stream_id text, p_expected bigint, p_ids uuid[], p_types text[], p_data text[], p_metadata text[],
  OUT o_status text, OUT o_version bigint, OUT o_position bigint, OUT o_reason text)
LANGUAGE plpgsql AS $fn$
DECLARE
  v_n integer := coalesce(array_length(p_ids, 1), 0);
  v_current bigint;
  v_last_position bigint;
  v_start bigint;
  v_matched integer;
  v_base bigint;
  v_first bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(${lockKey}, hashtext(p_stream_id));
  SELECT s.version, s.last_position INTO v_current, v_last_position
    FROM ${s}.streams s WHERE s.stream_id = p_stream_id;
  IF NOT FOUND THEN
    v_current := 0;
    v_last_position := 0;
  END IF;
  o_version := v_current;

  IF v_n = 0 THEN
    IF p_expected = -1 OR (p_expected = -2 AND v_current > 0) OR p_expected = v_current THEN
      o_status := 'empty';
    ELSE
      o_status := 'conflict';
      o_reason := CASE WHEN p_expected = -2 THEN 'the stream does not exist' ELSE 'version mismatch' END;
    END IF;
    RETURN;
  END IF;

  IF p_expected >= 0 THEN
    IF p_expected > v_current THEN
      o_status := 'conflict';
      o_reason := 'the stream is behind the expected version';
      RETURN;
    ELSIF p_expected < v_current THEN
      v_start := p_expected + 1;
    END IF;
  ELSE
    SELECT e.version INTO v_start FROM ${s}.events e
      WHERE e.stream_id = p_stream_id AND e.id = p_ids[1] ORDER BY e.version DESC LIMIT 1;
    IF v_start IS NULL AND p_expected = -2 AND v_current = 0 THEN
      o_status := 'conflict';
      o_reason := 'the stream does not exist';
      RETURN;
    END IF;
  END IF;

  IF v_start IS NOT NULL THEN
    SELECT count(*) INTO v_matched FROM unnest(p_ids) WITH ORDINALITY AS b(id, i)
      JOIN ${s}.events e ON e.stream_id = p_stream_id AND e.version = v_start + b.i - 1 AND e.id = b.id;
    IF v_matched <> v_n THEN
      o_status := 'conflict';
      o_reason := 'the event ids do not match a previous append';
      RETURN;
    END IF;
    o_status := 'duplicate';
    o_version := v_start + v_n - 1;
    SELECT e.global_position INTO o_position FROM ${s}.events e
      WHERE e.stream_id = p_stream_id AND e.version = o_version;
    RETURN;
  END IF;

  v_base := pg_current_xact_id()::text::bigint << ${ORDINAL_BITS};
  -- Normally no row has this transaction's id yet; continue after them if the caller ran two appends in one.
  SELECT coalesce(max(e.global_position) + 1, v_base) INTO v_first FROM ${s}.events e
    WHERE e.global_position >= v_base AND e.global_position < v_base + ${2 ** ORDINAL_BITS};
  IF v_first - v_base + v_n > ${2 ** ORDINAL_BITS} THEN
    RAISE EXCEPTION 'too many events in one transaction' USING ERRCODE = '54000';
  END IF;
  IF v_first <= v_last_position THEN
    RAISE EXCEPTION 'positions would not follow versions in stream; retry' USING ERRCODE = '40001';
  END IF;

  INSERT INTO ${s}.events
      (global_position, stream_id, version, id, stream_type, event_type, event_data, metadata)
    SELECT v_first + u.i - 1, p_stream_id, v_current + u.i, u.id, split_part(p_stream_id, '-', 1),
           u.t, u.d::json, u.m::json
    FROM unnest(p_ids, p_types, p_data, p_metadata) WITH ORDINALITY AS u(id, t, d, m, i);
  o_status := 'written';
  o_version := v_current + v_n;
  o_position := v_first + v_n - 1;
  INSERT INTO ${s}.streams AS st (stream_id, stream_type, version, last_position)
    VALUES (p_stream_id, split_part(p_stream_id, '-', 1), o_version, o_position)
    ON CONFLICT (stream_id) DO UPDATE
      SET version = excluded.version, last_position = excluded.last_position, updated_at = now();
END
$fn$;`;
}
