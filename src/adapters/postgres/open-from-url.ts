import type { PoolConfig } from 'pg';
import { InvalidArgumentError } from '../../contract/index.js';
import { assertKnownOptions, assertKnownParams, readDeadlines } from '../../url-options.js';
import { deadlineConfig } from './deadlines.js';
import { PgliteDriver, PgPoolDriver } from './driver.js';
import { mapError } from './map-error.js';
import { checkOptions, DEFAULT_SCHEMA, openStore } from './open-store.js';
import {
  DEFAULT_MAX_IN_FLIGHT,
  type PostgresEventStore,
  type PostgresEventStoreOptions,
} from './postgres-event-store.js';
import { validateSchemaName } from './schema.js';

const SERVER_PARAMS = [
  'schema',
  'max',
  'sslmode',
  'application_name',
  'group_commit',
  'timeout_ms',
  'connect_timeout_ms',
];

/** The `group_commit` URL parameter: `off`, or the group transactions in flight (checked with the options). */
function groupCommitParam(url: URL): PostgresEventStoreOptions['groupCommit'] {
  const value = url.searchParams.get('group_commit');
  if (value === null) return undefined;
  if (value === 'off') return false;
  if (!/^[0-9]{1,4}$/.test(value)) {
    throw new InvalidArgumentError(
      "The group_commit URL parameter must be 'off' or an integer from 1 to 1000",
      {
        argument: 'url',
      },
    );
  }
  return { maxInFlight: Number(value) };
}
const SSL_MODES = ['disable', 'prefer', 'require', 'no-verify', 'verify-full'];

/** Builds the pool's config from the URL's parts, so the connection string itself never reaches the driver. */
function poolConfig(url: URL): PoolConfig {
  const decode = (part: string, name: string): string => {
    try {
      return decodeURIComponent(part);
    } catch {
      throw new InvalidArgumentError(`The ${name} in the URL is not valid percent-encoding`, {
        argument: 'url',
      });
    }
  };
  const config: PoolConfig = {
    host: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname || 'localhost',
    port: url.port === '' ? 5432 : Number(url.port),
    user: url.username === '' ? undefined : decode(url.username, 'user name'),
    password: url.password === '' ? undefined : decode(url.password, 'password'),
    database: url.pathname.length > 1 ? decode(url.pathname.slice(1), 'database name') : undefined,
  };
  const max = url.searchParams.get('max');
  if (max !== null) {
    const n = Number(max);
    if (!Number.isSafeInteger(n) || n < 1 || n > 1000) {
      throw new InvalidArgumentError('The max URL parameter must be an integer from 1 to 1000', {
        argument: 'url',
      });
    }
    config.max = n;
  }
  const sslmode = url.searchParams.get('sslmode');
  if (sslmode !== null) {
    if (!SSL_MODES.includes(sslmode)) {
      throw new InvalidArgumentError(`sslmode must be one of ${SSL_MODES.join(', ')}`, { argument: 'url' });
    }
    if (sslmode === 'require' || sslmode === 'no-verify') config.ssl = { rejectUnauthorized: false };
    else if (sslmode === 'verify-full') config.ssl = { rejectUnauthorized: true };
  }
  const applicationName = url.searchParams.get('application_name');
  if (applicationName !== null) config.application_name = applicationName;
  return config;
}

/**
 * The URL layer (see `createEventStore`):
 * - `postgres://user:pass@host:port/db?schema=NAME` (or `postgresql://`): a pg Pool the store owns and closes.
 *   Parameters: `schema` (default `eventstore`), `max` (pool size), `sslmode`, `application_name`,
 *   `group_commit` (`off`, or the group transactions in flight; default 1), `timeout_ms` (every call's deadline,
 *   default 30000), `connect_timeout_ms` (getting a connection, default 10000).
 * - `pglite:memory` and `pglite:./dir` (a persisted data directory): an embedded PGlite the store owns.
 *   Parameters: `schema`, `group_commit`, `timeout_ms`.
 *
 * Options: `autoCreate` (default true), `timeoutMs` and `connectTimeoutMs` (the same as the URL parameters).
 */
export async function openFromUrl(url: URL, options: Record<string, unknown>): Promise<PostgresEventStore> {
  const autoCreate = options.autoCreate as boolean | undefined;
  if (url.protocol === 'pglite:') {
    // PGlite runs in this process: there is no connection to lose and no server to freeze, so the deadline is the
    // store's own (the call fails with TIMEOUT; the query itself cannot be interrupted and finishes in the
    // background).
    assertKnownOptions(options, ['autoCreate', 'timeoutMs']);
    assertKnownParams(url, ['schema', 'group_commit', 'timeout_ms']);
    const { timeoutMs } = readDeadlines(url, options);
    const schema = validateSchemaName(url.searchParams.get('schema') ?? DEFAULT_SCHEMA, 'url');
    const checked = checkOptions({ schema, autoCreate, groupCommit: groupCommitParam(url), timeoutMs }, 1);
    const where = decodeURIComponent(url.pathname);
    if (where === '' || url.host !== '') {
      throw new InvalidArgumentError(
        "pglite: needs 'memory' or a directory, e.g. pglite:memory or pglite:./data",
        {
          argument: 'url',
        },
      );
    }
    const { PGlite } = await import('@electric-sql/pglite');
    const db = where === 'memory' ? new PGlite() : new PGlite(where);
    try {
      await db.waitReady;
    } catch (err) {
      throw mapError(err, { operation: 'open', request: 'connect' });
    }
    return openStore(new PgliteDriver(db, true), checked);
  }
  assertKnownOptions(options, ['autoCreate', 'timeoutMs', 'connectTimeoutMs']);
  assertKnownParams(url, SERVER_PARAMS);
  const deadlines = readDeadlines(url, options);
  const schema = validateSchemaName(url.searchParams.get('schema') ?? DEFAULT_SCHEMA, 'url');
  const checked = checkOptions(
    { schema, autoCreate, groupCommit: groupCommitParam(url), timeoutMs: deadlines.timeoutMs },
    DEFAULT_MAX_IN_FLIGHT,
  );
  const config = { ...poolConfig(url), ...deadlineConfig(deadlines) };
  const { default: pg } = await import('pg');
  const pool = new pg.Pool(config);
  // An idle connection that breaks (server restart, pg_terminate_backend) is dropped by the pool; without a
  // listener node would crash the process. Nothing is logged, so nothing can leak.
  pool.on('error', () => {});
  return openStore(new PgPoolDriver(pool, true), checked);
}
