import type { PGliteInterface } from '@electric-sql/pglite';
import type { Pool, PoolClient } from 'pg';
import { CLIENT_TIMEOUT_MESSAGES } from './map-error.js';

/** Runs one statement and returns its rows. Values always travel as parameters, never inside `text`. */
export interface SqlExecutor {
  /**
   * `name` marks a statement the store runs often: drivers that support it prepare it once per connection.
   * It must be unique per `text`.
   */
  query<R>(text: string, params?: readonly unknown[], name?: string): Promise<R[]>;
}

/** A transaction's connection: statements, plus scripts of several statements without parameters. */
export interface SqlTransaction extends SqlExecutor {
  exec(script: string): Promise<void>;
}

/**
 * The little the store needs from a database driver, so that the same SQL runs on node-postgres and on PGlite
 * (the same idea as Kysely's `Driver`). Only type imports reach the drivers here: each factory loads its own.
 */
export interface SqlDriver extends SqlExecutor {
  /** Runs `fn` in one transaction on one connection: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: SqlTransaction) => Promise<T>): Promise<T>;
  /** Releases the connection(s) when the store owns them; a no-op for a client the caller passed in. */
  close(): Promise<void>;
  /**
   * Listens to `channel` on a connection of its own, calling `onNotify` on each notification, and reconnects when
   * that connection breaks; resolves to a function that stops. Absent when the database is in this process
   * (PGlite), where the store's in-process wake-up is enough.
   */
  listen?(channel: string, onNotify: () => void): Promise<() => Promise<void>>;
}

/** node-postgres: every `query` is one round trip on a pooled connection, in its own implicit transaction. */
export class PgPoolDriver implements SqlDriver {
  readonly #pool: Pool;
  readonly #owned: boolean;

  constructor(pool: Pool, owned: boolean) {
    this.#pool = pool;
    this.#owned = owned;
  }

  async query<R>(text: string, params: readonly unknown[] = [], name?: string): Promise<R[]> {
    const values = params as unknown[];
    const result = await this.#pool.query(name === undefined ? { text, values } : { name, text, values });
    return result.rows as R[];
  }

  async transaction<T>(fn: (tx: SqlTransaction) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    let broken: unknown;
    try {
      await client.query('BEGIN');
      const result = await fn({
        query: async <R>(text: string, params: readonly unknown[] = []) =>
          (await client.query(text, params as unknown[])).rows as R[],
        exec: async (script: string) => {
          await client.query(script);
        },
      });
      await client.query('COMMIT');
      return result;
    } catch (err) {
      if (err instanceof Error && CLIENT_TIMEOUT_MESSAGES.test(err.message)) {
        // No answer within the deadline: a ROLLBACK would wait as long again. Destroying the connection ends the
        // transaction on the server as well.
        broken = err;
      } else {
        await client.query('ROLLBACK').catch((rollbackError: unknown) => {
          broken = rollbackError;
        });
      }
      throw err;
    } finally {
      // A connection whose rollback failed is in an unknown state: destroy it rather than reuse it.
      client.release(broken instanceof Error ? broken : undefined);
    }
  }

  async close(): Promise<void> {
    if (this.#owned) await this.#pool.end();
  }

  async listen(channel: string, onNotify: () => void): Promise<() => Promise<void>> {
    let stopped = false;
    let client: PoolClient | undefined;
    let retry: ReturnType<typeof setTimeout> | undefined;
    const connect = async (): Promise<void> => {
      if (stopped) return;
      try {
        const c = await this.#pool.connect();
        c.on('notification', onNotify);
        c.on('error', () => {
          // Broken: drop it, and listen again on a new connection (subscriptions poll meanwhile).
          if (client === c) client = undefined;
          c.release(true);
          retry = setTimeout(() => void connect(), 1_000);
          retry.unref();
        });
        await c.query(`LISTEN "${channel}"`);
        client = c;
        if (stopped) await unlisten();
        // Events may have come while no connection listened.
        onNotify();
      } catch {
        retry = setTimeout(() => void connect(), 1_000);
        retry.unref();
      }
    };
    const unlisten = async (): Promise<void> => {
      stopped = true;
      if (retry !== undefined) clearTimeout(retry);
      const c = client;
      client = undefined;
      if (c === undefined) return;
      c.removeAllListeners('notification');
      await c.query(`UNLISTEN "${channel}"`).then(
        () => c.release(),
        (err: unknown) => c.release(err instanceof Error ? err : true),
      );
    };
    await connect();
    return unlisten;
  }
}

/** PGlite: one in-process connection that queues queries, so concurrent appends run one after another. */
export class PgliteDriver implements SqlDriver {
  readonly #db: PGliteInterface;
  readonly #owned: boolean;

  constructor(db: PGliteInterface, owned: boolean) {
    this.#db = db;
    this.#owned = owned;
  }

  async query<R>(text: string, params: readonly unknown[] = []): Promise<R[]> {
    return (await this.#db.query<R>(text, params as unknown[])).rows;
  }

  async transaction<T>(fn: (tx: SqlTransaction) => Promise<T>): Promise<T> {
    return this.#db.transaction((tx) =>
      fn({
        query: async <R>(text: string, params: readonly unknown[] = []) =>
          (await tx.query<R>(text, params as unknown[])).rows,
        exec: async (script: string) => {
          await tx.exec(script);
        },
      }),
    );
  }

  async close(): Promise<void> {
    if (this.#owned && !this.#db.closed) await this.#db.close();
  }
}
