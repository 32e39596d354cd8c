import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ErrorCodes, EventStoreError } from '../../contract/index.js';

/**
 * The schema's migrations, in order. Each is a file in `sql/migrations/` named `<4-digit version>_<name>.sql`;
 * the build copies the folder beside the compiled module, so the same relative URL finds them in `src/` (tsx,
 * vitest) and in `dist/`. A file, once released, never changes: a change is a new file at the end of this list.
 * Versions increase; a number may be missing while its migration is still being written elsewhere (a schema
 * migrated without it is refused by a later release that ships it: see `checkLedger`).
 */
const FILES = [
  '0001_events_streams_append_events.sql',
  '0002_append_events_batch.sql',
  '0003_append_events_batch_plan.sql',
  '0004_ledger_checksums.sql',
  '0005_drop_unused.sql',
  '0006_stream_lifecycle.sql',
  '0007_subscriptions.sql',
  '0008_snapshots.sql',
] as const;

/** The versions of the shipped migrations, in order. */
export const MIGRATION_VERSIONS: readonly number[] = FILES.map((file) => Number(file.slice(0, 4)));

/** The latest schema version this code knows: the version of its last migration. */
export const SCHEMA_VERSION = Number(FILES[FILES.length - 1]!.slice(0, 4));

export interface Migration {
  readonly version: number;
  /** The file name without its version and extension, recorded in the ledger. */
  readonly name: string;
  readonly file: string;
  /** The file's text, line endings normalised to `\n`, placeholders not substituted. */
  readonly text: string;
  /** Hex SHA-256 of `text`: the same for every schema, so one value identifies a released migration. */
  readonly checksum: string;
}

const FILE_NAME = /^(\d{4})_([a-z0-9_]+)\.sql$/;

const DIRECTORY = new URL('./sql/migrations/', import.meta.url);

async function loadOne(file: string, index: number): Promise<Migration> {
  const match = FILE_NAME.exec(file);
  const previous = index === 0 ? 0 : Number(FILES[index - 1]!.slice(0, 4));
  if (match === null || Number(match[1]) <= previous) {
    throw new Error(`Migration file ${file} is not named <version above ${previous}>_<name>.sql`);
  }
  let raw: string;
  try {
    raw = await readFile(new URL(file, DIRECTORY), 'utf8');
  } catch (err) {
    throw new EventStoreError(
      ErrorCodes.BACKEND_ERROR,
      `The PostgreSQL migration file ${file} could not be read from the package's sql/migrations folder: ` +
        'the installed package is incomplete',
      { cause: err },
    );
  }
  const text = raw.replaceAll('\r\n', '\n');
  const checksum = createHash('sha256').update(text, 'utf8').digest('hex');
  return { version: Number(match[1]), name: match[2] as string, file, text, checksum };
}

let cached: Promise<readonly Migration[]> | undefined;

/** Every migration, read once per process (a failed read is retried by the next call). */
export function loadMigrations(): Promise<readonly Migration[]> {
  if (cached === undefined) {
    const loading = Promise.all(FILES.map(loadOne));
    cached = loading;
    loading.catch(() => {
      if (cached === loading) cached = undefined;
    });
  }
  return cached;
}

/** What the placeholders of a migration stand for in one schema. */
export interface MigrationParameters {
  /** The schema, already validated and quoted as an identifier (`"orders"`). */
  readonly schema: string;
  /** The schema's advisory-lock class (`schemaLockKey`). */
  readonly lockKey: number;
}

const PLACEHOLDER = /__(schema|lock_key)__/g;

/**
 * A migration's SQL for one schema: `__schema__` becomes the quoted schema name and `__lock_key__` the schema's
 * lock class. Both values come from validated input (a lower-case identifier, an integer), never from a caller's
 * free text.
 */
export function renderMigration(text: string, params: MigrationParameters): string {
  if (!/^"[a-z_][a-z0-9_]*"$/.test(params.schema) || !Number.isSafeInteger(params.lockKey)) {
    throw new Error('renderMigration takes a quoted, validated schema name and an integer lock key');
  }
  return text.replace(PLACEHOLDER, (_, name: string) =>
    name === 'schema' ? params.schema : String(params.lockKey),
  );
}
