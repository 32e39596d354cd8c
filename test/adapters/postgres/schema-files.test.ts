import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { loadMigrations, MIGRATION_VERSIONS } from '../../../src/adapters/postgres/migrations.js';
import { ORDINAL_BITS } from '../../../src/adapters/postgres/positions.js';
import { usePglite } from './schema-support.js';

// The migrations ship as .sql files that the build copies beside the compiled loader. These tests read the
// built package (dist/, which `npm test` builds first), as an installed copy would.

const root = fileURLToPath(new URL('../../../', import.meta.url));
const builtIndex = new URL('../../../dist/src/adapters/postgres/index.js', import.meta.url);
const builtLoader = new URL('../../../dist/src/adapters/postgres/migrations.js', import.meta.url);
const pglite = usePglite();

function assertBuilt(): void {
  if (!existsSync(builtLoader)) {
    throw new Error('dist/ is missing: run `npm run build` first (`npm test` does)');
  }
}

it('loads the migrations from the built package, the same files as in the source', async () => {
  assertBuilt();
  const built = (await import(
    builtLoader.href
  )) as typeof import('../../../src/adapters/postgres/migrations.js');
  const fromDist = await built.loadMigrations();
  const fromSrc = await loadMigrations();
  expect(fromDist.map((m) => [m.version, m.file, m.checksum])).toEqual(
    fromSrc.map((m) => [m.version, m.file, m.checksum]),
  );
  expect(fromDist).toHaveLength(MIGRATION_VERSIONS.length);
});

it('opens a store from the built package on PGlite', async () => {
  assertBuilt();
  const built = (await import(builtIndex.href)) as typeof import('../../../src/adapters/postgres/index.js');
  const { db } = pglite;
  const store = await built.createPgliteEventStore(db, { schema: 'built' });
  await store.append('s-1', [{ type: 'FromDist', data: 1 }]);
  expect(await store.streamVersion('s-1')).toBe(1);
  await store.close();
  const { rows } = await db.query<{ n: number }>(
    'SELECT count(checksum)::int AS n FROM built.schema_migrations',
  );
  expect(rows[0]!.n).toBe(MIGRATION_VERSIONS.length);
});

it("puts every migration file in the package npm publishes (package.json's files)", async () => {
  assertBuilt();
  const { stdout } = await promisify(execFile)('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: root,
  });
  const [pack] = JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>;
  const packed = new Set(pack!.files.map((f) => f.path));
  for (const m of await loadMigrations()) {
    expect(packed).toContain(`dist/src/adapters/postgres/sql/migrations/${m.file}`);
  }
});

it('writes positions in the current functions with the ORDINAL_BITS the store reads them with', async () => {
  // The latest migration that defines the append functions; positions.ts and the SQL must agree.
  const functions = (await loadMigrations()).filter((m) =>
    m.text.includes('FUNCTION __schema__.append_events('),
  );
  const text = functions.at(-1)!.text;
  const shifts = [...text.matchAll(/<< (\d+)/g)].map((m) => Number(m[1]));
  expect(shifts.length).toBeGreaterThan(0);
  expect(new Set(shifts)).toEqual(new Set([ORDINAL_BITS]));
  const limits = [...text.matchAll(/IF v_(?:n|events) > (\d+) THEN\s+RAISE EXCEPTION 'too many events/g)].map(
    (m) => Number(m[1]),
  );
  expect(limits).toEqual([2 ** ORDINAL_BITS, 2 ** ORDINAL_BITS]);
});
