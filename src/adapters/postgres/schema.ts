import { ErrorCodes, EventStoreError, InvalidArgumentError } from '../../contract/index.js';
import type { SqlDriver } from './driver.js';
import { loadMigrations, type Migration, renderMigration } from './migrations.js';

export { SCHEMA_VERSION } from './migrations.js';
export { ORDINAL_BITS } from './positions.js';

/** Lower-case SQL identifiers only, so a name never needs quoting rules beyond the double quotes we add. */
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** Checks a schema name (INVALID_ARGUMENT otherwise) and returns it. */
export function validateSchemaName(schema: unknown, argument = 'options.schema'): string {
  if (typeof schema !== 'string' || !IDENTIFIER.test(schema) || schema.startsWith('pg_')) {
    throw new InvalidArgumentError(
      'The schema name must be 1-63 characters of a-z, 0-9 and _, must not start with a digit or pg_',
      { argument },
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

interface LedgerRow {
  version: number;
  checksum: string | null;
}

/**
 * Checks the ledger against the migrations this code ships and returns the schema's current version. Refuses
 * (BACKEND_ERROR) when a recorded checksum differs from its file's, or when the ledger is not the shipped versions in
 * order (it skips one, or holds one this code does not ship in its place): the schema is not the one these
 * migrations build, and migrating it further could damage it. Versions newer than this code knows are accepted,
 * unchecked: a schema migrated by a later release opens as it is.
 */
function checkLedger(schema: string, rows: readonly LedgerRow[], migrations: readonly Migration[]): number {
  let current = 0;
  for (const [i, row] of rows.entries()) {
    const known = migrations[i];
    const expected = known?.version ?? current + 1;
    if (known === undefined ? row.version <= current : row.version !== expected) {
      throw new EventStoreError(
        ErrorCodes.BACKEND_ERROR,
        `The event store schema "${schema}" lists migration ${row.version} in its ledger ` +
          `(${schema}.schema_migrations) but not migration ${expected}: the schema was not built by these ` +
          'migrations, so the store does not change it',
      );
    }
    current = row.version;
    if (known !== undefined && row.checksum !== null && row.checksum !== known.checksum) {
      throw new EventStoreError(
        ErrorCodes.BACKEND_ERROR,
        `The event store schema "${schema}" has migration ${row.version} (${known.name}) applied with checksum ` +
          `${row.checksum.slice(0, 12)}…, but this release's migration ${row.version} has checksum ` +
          `${known.checksum.slice(0, 12)}…: an applied migration must never change, so the store does not ` +
          'open the schema. Restore the schema, or the migration file, that the ledger records',
      );
    }
  }
  return current;
}

/**
 * Creates or upgrades the schema. Idempotent, and safe when several processes start at once: everything runs in
 * one transaction that first takes a cluster-wide advisory lock, so the second process waits, then finds the
 * migrations applied. DDL in PostgreSQL is transactional, so a failed or refused migration leaves nothing behind.
 *
 * The ledger `<schema>.schema_migrations` has one row per applied migration: version, name, the SHA-256 of the
 * migration file's text (before its placeholders are substituted) and when it was applied. Every open compares
 * the recorded checksums with the shipped files before it applies anything (see `checkLedger`). Rows without a
 * checksum (written before the ledger had the column) receive the shipped file's checksum.
 */
export async function migrate(driver: SqlDriver, schema: string): Promise<void> {
  validateSchemaName(schema);
  const migrations = await loadMigrations();
  const s = quoteIdent(schema);
  const params = { schema: s, lockKey: schemaLockKey(schema) };
  await driver.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`);
    await tx.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await tx.query(
      `CREATE TABLE IF NOT EXISTS ${s}.schema_migrations (
         version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    // to_jsonb reads the checksum whether or not the ledger has the column yet.
    const rows = await tx.query<LedgerRow>(
      `SELECT version, to_jsonb(l) ->> 'checksum' AS checksum FROM ${s}.schema_migrations l ORDER BY version`,
    );
    const current = checkLedger(schema, rows, migrations);
    const pending = migrations.filter((m) => m.version > current);
    for (const m of pending) {
      await tx.exec(renderMigration(m.text, params));
      await tx.query(`INSERT INTO ${s}.schema_migrations (version, name) VALUES ($1, $2)`, [
        m.version,
        m.name,
      ]);
    }
    // Every migration this code knows is applied now, and with them the ledger's checksum column (migration 4).
    if (pending.length > 0 || rows.some((r) => r.checksum === null)) {
      await tx.query(
        `UPDATE ${s}.schema_migrations l SET checksum = k.checksum
           FROM unnest($1::integer[], $2::text[]) AS k(version, checksum)
          WHERE l.version = k.version AND l.checksum IS NULL`,
        [migrations.map((m) => m.version), migrations.map((m) => m.checksum)],
      );
    }
  });
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
