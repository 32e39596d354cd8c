import { InvalidArgumentError } from '../contract/index.js';
import type { ReadModel, ReadModelTarget } from './projection.js';

/**
 * What a SQL read model needs from PostgreSQL: one statement with `$1` … parameters, returning its rows. A
 * transactional subscription's `context.tx` on PostgreSQL and PGlite has this shape; {@link sqlClient} gives it to
 * a node-postgres pool or a PGlite instance.
 */
export interface SqlClient {
  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<R[]>;
  /** Runs `fn` in one transaction (absent inside a transaction already: statements then simply run in it). */
  transaction?<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T>;
}

/** Anything with node-postgres' or PGlite's `query(text, params)` that resolves to `{ rows }`. */
interface Queryable {
  query(text: string, params?: unknown[]): Promise<{ rows: unknown[] }>;
}

interface PoolLike extends Queryable {
  connect(): Promise<Queryable & { release(): void }>;
}

interface PgliteLike extends Queryable {
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
}

function wrap(db: Queryable): SqlClient {
  return {
    query: async <R>(text: string, params?: readonly unknown[]) =>
      (await db.query(text, params === undefined ? undefined : [...params])).rows as R[],
  };
}

/**
 * A {@link SqlClient} over a node-postgres `Pool` or a PGlite instance, which the caller keeps and closes.
 *
 * @example
 * const db = sqlClient(new pg.Pool({ connectionString: process.env.READ_MODEL_URL }));
 */
export function sqlClient(db: Queryable): SqlClient {
  if (typeof db !== 'object' || db === null || typeof db.query !== 'function') {
    throw new InvalidArgumentError('sqlClient takes a node-postgres Pool or a PGlite instance', {
      argument: 'db',
    });
  }
  const client = wrap(db);
  if (typeof (db as PgliteLike).transaction === 'function') {
    client.transaction = (fn) => (db as PgliteLike).transaction((tx) => fn(wrap(tx)));
  } else if (typeof (db as PoolLike).connect === 'function') {
    client.transaction = async (fn) => {
      const conn = await (db as PoolLike).connect();
      try {
        await conn.query('BEGIN');
        const result = await fn(wrap(conn));
        await conn.query('COMMIT');
        return result;
      } catch (err) {
        await conn.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        conn.release();
      }
    };
  }
  return client;
}

/** What {@link sqlReadModel} takes. */
export interface SqlReadModelOptions {
  /** The columns and constraints of the read model's table, as in `CREATE TABLE t (…)`. */
  columns: string;
  /** The schema of the tables and the view; the connection's `search_path` when absent. */
  schema?: string;
  /**
   * Statements run after the table is created, e.g. indexes: `{table}` stands for the generation's quoted table,
   * `{name}` for its bare name (to name an index: `CREATE INDEX IF NOT EXISTS {name}_status ON {table} (status)`).
   */
  afterCreate?: readonly string[];
}

/** A read model in PostgreSQL tables, with {@link SqlReadModel.table} to name the generation a handler writes. */
export interface SqlReadModel extends ReadModel<SqlClient> {
  /** The quoted, schema-qualified table of `target`, for a handler's statements. */
  table(target: ReadModelTarget): string;
  /** The quoted, schema-qualified view readers query: the projection's name. */
  view(projection: string): string;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

function quote(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * A read model kept as one table per generation (`<name>_v<n>`) behind a view named after the projection, which
 * readers query. A rebuild fills the next generation's table while the view still shows the current one, then
 * repoints the view in one transaction: readers never see a half-built read model. The active generation is
 * recorded in a `projection_generations` table beside them, in the read model's database, never in the event
 * store's schema. Dropping a table the view still shows fails, so a wrong call cannot remove what readers use.
 *
 * @example
 * const readModel = sqlReadModel({ columns: 'order_id text PRIMARY KEY, status text NOT NULL, version int NOT NULL' });
 */
export function sqlReadModel(options: SqlReadModelOptions): SqlReadModel {
  if (typeof options !== 'object' || options === null || typeof options.columns !== 'string') {
    throw new InvalidArgumentError('sqlReadModel needs the table columns as a string', {
      argument: 'options.columns',
    });
  }
  const { schema, columns, afterCreate = [] } = options;
  if (schema !== undefined && !IDENTIFIER.test(schema)) {
    throw new InvalidArgumentError('options.schema must be a plain SQL identifier', {
      argument: 'options.schema',
    });
  }
  const qualify = (name: string): string =>
    schema === undefined ? quote(name) : `${quote(schema)}.${quote(name)}`;
  const registry = qualify('projection_generations');
  const ensureRegistry = async (db: SqlClient): Promise<void> => {
    if (schema !== undefined) await db.query(`CREATE SCHEMA IF NOT EXISTS ${quote(schema)}`);
    await db.query(
      `CREATE TABLE IF NOT EXISTS ${registry} (projection text PRIMARY KEY, generation integer NOT NULL)`,
    );
  };
  const inTransaction = <T>(db: SqlClient, fn: (tx: SqlClient) => Promise<T>): Promise<T> =>
    db.transaction ? db.transaction(fn) : fn(db);

  return {
    table: (target) => qualify(target.name),
    view: (projection) => qualify(projection),
    async create(db, target) {
      await ensureRegistry(db);
      const table = qualify(target.name);
      await db.query(`CREATE TABLE IF NOT EXISTS ${table} (${columns})`);
      for (const statement of afterCreate) {
        await db.query(statement.replaceAll('{table}', table).replaceAll('{name}', target.name));
      }
    },
    async drop(db, target) {
      await db.query(`DROP TABLE IF EXISTS ${qualify(target.name)}`);
    },
    async activate(db, target) {
      await ensureRegistry(db);
      await inTransaction(db, async (tx) => {
        const view = qualify(target.projection);
        await tx.query(`DROP VIEW IF EXISTS ${view}`);
        await tx.query(`CREATE VIEW ${view} AS SELECT * FROM ${qualify(target.name)}`);
        await tx.query(
          `INSERT INTO ${registry} (projection, generation) VALUES ($1, $2)
           ON CONFLICT (projection) DO UPDATE SET generation = EXCLUDED.generation`,
          [target.projection, target.generation],
        );
      });
    },
    async active(db, projection) {
      await ensureRegistry(db);
      const rows = await db.query<{ generation: number }>(
        `SELECT generation FROM ${registry} WHERE projection = $1`,
        [projection],
      );
      return rows[0]?.generation;
    },
    inTransaction: (tx) => {
      if (typeof (tx as Partial<SqlClient> | null)?.query !== 'function') {
        throw new InvalidArgumentError(
          "sameDatabase: this store's transaction is not PostgreSQL's, so a SQL read model cannot join it",
          { argument: 'sameDatabase' },
        );
      }
      return {
        query: <R>(text: string, params?: readonly unknown[]) => (tx as SqlClient).query<R>(text, params),
      };
    },
  };
}
