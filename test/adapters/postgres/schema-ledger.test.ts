import type pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPgliteEventStore, createPostgresEventStore } from '../../../src/adapters/postgres/index.js';
import {
  loadMigrations,
  MIGRATION_VERSIONS,
  SCHEMA_VERSION,
} from '../../../src/adapters/postgres/migrations.js';
import { createEventStore } from '../../../src/index.js';
import { applyMigrationFiles, catalog, frozenSchema, type RawSql, usePglite } from './schema-support.js';
import { serverUrl, testPool, uniqueSchema } from './support.js';

let pool: pg.Pool;
let sql: RawSql;
const pglite = usePglite();

beforeAll(() => {
  pool = testPool(4);
  sql = {
    query: async (text, params) => (await pool.query(text, params)).rows,
    exec: async (script) => {
      await pool.query(script);
    },
  };
});

afterAll(async () => {
  await pool.end();
});

interface LedgerRow {
  version: number;
  name: string;
  checksum: string | null;
  applied_at: Date;
}

async function ledger(schema: string): Promise<LedgerRow[]> {
  return sql.query<LedgerRow>(
    `SELECT version, name, checksum, applied_at FROM "${schema}".schema_migrations ORDER BY version`,
  );
}

it('never changes a released migration: the checksums of the shipped files are pinned', async () => {
  // A released migration is frozen. A new migration adds its own line here; no line ever changes.
  const pinned: Record<number, string> = {
    1: 'ea359d7cf087b25edd22e8cab1b240e67125e908a1a7ce8e324f2b58cebf6136',
    2: 'b567d949b5978ecaa9f66579daf4a76643427ed7c942bc354c4ba677285ce1fe',
    3: '0e29620fc804a7cd29f1da178ed56f0e49a9eb9c29849ca037a3d8c0cdf11e6d',
    4: '318c1ea83185f77e4787d6c02346609a8c87c65ba598572c8a576424d1787b16',
    5: '8e9a8f74decb3e2ece8b6eb1bc84473abe4dc52c75067346b10a41da7e6895b0',
    6: 'b8d9942164400980de9bff205dc13e16a20aa67f0c0bcd52c0577d6f5da9fb78',
    7: '03aff8cdf37d754d67b5dabff456ea9356d8b257d728cc341b2c7f4198d3eba5',
    8: 'ec12058211e5d030b56bf197bba0814008e476e32ef148aff835173258d77a09',
  };
  const migrations = await loadMigrations();
  expect(migrations.map((m) => m.version)).toEqual(Object.keys(pinned).map(Number));
  for (const m of migrations) expect(m.checksum).toBe(pinned[m.version]);
});

it('gives a fresh schema every migration in one transaction, each with its name and checksum', async () => {
  const schema = uniqueSchema('fresh');
  await (await createPostgresEventStore(pool, { schema })).close();
  const rows = await ledger(schema);
  const migrations = await loadMigrations();
  expect(rows.map(({ applied_at: _, ...r }) => r)).toEqual(
    migrations.map((m) => ({ version: m.version, name: m.name, checksum: m.checksum })),
  );
  expect(rows).toHaveLength(MIGRATION_VERSIONS.length);
  // now() is the transaction's start: one value means one transaction applied them all.
  expect(new Set(rows.map((r) => r.applied_at.getTime())).size).toBe(1);
});

it('migrates a new schema once when several stores open it at the same time', async () => {
  const schema = uniqueSchema('race');
  const url = serverUrl(schema);
  // Each store owns its own pool, as separate processes would.
  const stores = await Promise.all(Array.from({ length: 6 }, () => createEventStore(url)));
  await Promise.all(stores.map((s, i) => s.append(`s-${i}`, [{ type: 'Opened', data: i }])));
  await Promise.all(stores.map((s) => s.close()));
  const rows = await ledger(schema);
  expect(rows.map((r) => r.version)).toEqual([...MIGRATION_VERSIONS]);
  expect(new Set(rows.map((r) => r.applied_at.getTime())).size).toBe(1);
});

it('keeps frozen snapshots that match the shipped migration files of their version', async () => {
  for (const version of [1, 2] as const) {
    const fromSnapshot = uniqueSchema(`snap${version}`);
    const fromFiles = uniqueSchema(`files${version}`);
    await sql.exec(await frozenSchema(version, fromSnapshot));
    await sql.exec(`CREATE SCHEMA "${fromFiles}";
      CREATE TABLE "${fromFiles}".schema_migrations (
        version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    await applyMigrationFiles(sql, fromFiles, 1, version);
    expect(await catalog(sql, fromSnapshot)).toEqual(await catalog(sql, fromFiles));
  }
});

/** A schema at version 4 (the ledger has checksums, migration 5 is pending) with one event in it. */
async function schemaAtVersion4(exec: RawSql, schema: string): Promise<void> {
  await exec.exec(await frozenSchema(2, schema));
  await applyMigrationFiles(exec, schema, 3, 4);
  const migrations = await loadMigrations();
  await exec.query(
    `INSERT INTO "${schema}".schema_migrations (version, name) SELECT v, 'm' FROM unnest($1::int[]) AS v`,
    [[3, 4]],
  );
  await exec.query(
    `UPDATE "${schema}".schema_migrations l SET checksum = k.c FROM unnest($1::int[], $2::text[]) AS k(v, c)
      WHERE l.version = k.v`,
    [migrations.map((m) => m.version), migrations.map((m) => m.checksum)],
  );
  await exec.query(
    `SELECT * FROM "${schema}".append_events('kept-1', 0, ARRAY[gen_random_uuid()], ARRAY['Kept'], ARRAY['1'],
       ARRAY['{}'])`,
  );
}

/** Everything a refused open could have changed. */
async function state(exec: RawSql, schema: string): Promise<unknown> {
  return {
    ledger: await exec.query(`SELECT * FROM "${schema}".schema_migrations ORDER BY version`),
    events: await exec.query(`SELECT * FROM "${schema}".events ORDER BY global_position`),
    catalog: await catalog(exec, schema),
  };
}

it('refuses a schema whose applied migration has another checksum, naming the version, and writes nothing', async () => {
  const schema = uniqueSchema('tampered');
  await schemaAtVersion4(sql, schema);
  await sql.query(`UPDATE "${schema}".schema_migrations SET checksum = repeat('0', 64) WHERE version = 2`);
  const before = await state(sql, schema);
  const url = serverUrl(schema);
  const password = new URL(url).password;
  const error = await createEventStore(url).then(
    () => undefined,
    (err: unknown) => err as Error & { code: string },
  );
  expect(error).toMatchObject({ code: 'BACKEND_ERROR' });
  expect(error!.message).toMatch(/migration 2 \(append_events_batch\) applied with checksum 000000000000/);
  expect(error!.message).toContain(`"${schema}"`);
  expect(password.length).toBeGreaterThan(0);
  expect(error!.message).not.toContain(password);
  expect(error!.message).not.toContain('postgres://');
  // Migrations 5 and on were pending: they did not run, and nothing else changed.
  expect(await state(sql, schema)).toEqual(before);
  // The pool still works, and the schema opens once the ledger is right again.
  const [m2] = (await loadMigrations()).filter((m) => m.version === 2);
  await sql.query(`UPDATE "${schema}".schema_migrations SET checksum = $1 WHERE version = 2`, [m2!.checksum]);
  const store = await createEventStore(url);
  expect(await store.streamVersion('kept-1')).toBe(1);
  await store.close();
  expect((await ledger(schema)).map((r) => r.version)).toEqual([...MIGRATION_VERSIONS]);
});

it('refuses a tampered ledger on PGlite too, and writes nothing', async () => {
  const { db, sql: raw } = pglite;
  const schema = uniqueSchema('tampered');
  await schemaAtVersion4(raw, schema);
  await raw.query(`UPDATE "${schema}".schema_migrations SET checksum = 'abc' WHERE version = 4`);
  const before = await state(raw, schema);
  await expect(createPgliteEventStore(db, { schema })).rejects.toMatchObject({
    code: 'BACKEND_ERROR',
    message: expect.stringMatching(/migration 4 \(ledger_checksums\) applied with checksum abc/),
  });
  expect(await state(raw, schema)).toEqual(before);
  expect(db.closed).toBe(false);
});

it('refuses a ledger with a gap, and opens a schema that a later release migrated further', async () => {
  const gap = uniqueSchema('gap');
  await (await createPostgresEventStore(pool, { schema: gap })).close();
  await sql.query(`DELETE FROM "${gap}".schema_migrations WHERE version = 3`);
  await expect(createPostgresEventStore(pool, { schema: gap })).rejects.toMatchObject({
    code: 'BACKEND_ERROR',
    message: expect.stringMatching(/lists migration 4 .* but not migration 3/),
  });

  const later = uniqueSchema('later');
  await (await createPostgresEventStore(pool, { schema: later })).close();
  await sql.query(
    `INSERT INTO "${later}".schema_migrations (version, name, checksum) VALUES ($1, 'later', 'unknown')`,
    [SCHEMA_VERSION + 1],
  );
  const store = await createPostgresEventStore(pool, { schema: later });
  await store.append('s-1', [{ type: 'Works', data: 1 }]);
  await store.close();
  expect((await ledger(later)).at(-1)).toMatchObject({ version: SCHEMA_VERSION + 1, checksum: 'unknown' });
});
