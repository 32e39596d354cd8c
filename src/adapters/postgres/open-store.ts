import { InvalidArgumentError } from '../../contract/index.js';
import { assertKnownOptions } from '../../url-options.js';
import type { SqlDriver } from './driver.js';
import { mapError } from './map-error.js';
import { PostgresEventStore, type PostgresEventStoreOptions } from './postgres-event-store.js';
import { migrate, validateSchemaName } from './schema.js';

export const DEFAULT_SCHEMA = 'eventstore';

export interface CheckedOptions {
  schema: string;
  autoCreate: boolean;
  pageSize: number;
  /** The group committer's transactions in flight; undefined: no group commit. */
  maxInFlight: number | undefined;
  timeoutMs: number | undefined;
}

function checkGroupCommit(value: unknown, defaultMaxInFlight: number): number | undefined {
  if (value === undefined) return defaultMaxInFlight;
  if (value === false) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidArgumentError('groupCommit must be false or { maxInFlight }', {
      argument: 'options.groupCommit',
    });
  }
  assertKnownOptions(value as Record<string, unknown>, ['maxInFlight']);
  const maxInFlight = (value as { maxInFlight?: unknown }).maxInFlight ?? defaultMaxInFlight;
  if (
    typeof maxInFlight !== 'number' ||
    !Number.isSafeInteger(maxInFlight) ||
    maxInFlight < 1 ||
    maxInFlight > 1000
  ) {
    throw new InvalidArgumentError('groupCommit.maxInFlight must be an integer from 1 to 1000', {
      argument: 'options.groupCommit.maxInFlight',
    });
  }
  return maxInFlight;
}

/** `defaultMaxInFlight`: a pool runs several transactions at once; PGlite runs one at a time. */
export function checkOptions(options: PostgresEventStoreOptions, defaultMaxInFlight: number): CheckedOptions {
  const schema = validateSchemaName(options.schema ?? DEFAULT_SCHEMA);
  if (options.autoCreate !== undefined && typeof options.autoCreate !== 'boolean') {
    throw new InvalidArgumentError('autoCreate must be a boolean', { argument: 'options.autoCreate' });
  }
  const pageSize = options.pageSize ?? 1000;
  if (!Number.isSafeInteger(pageSize) || pageSize < 1 || pageSize > 100_000) {
    throw new InvalidArgumentError('pageSize must be an integer from 1 to 100000', {
      argument: 'options.pageSize',
    });
  }
  const maxInFlight = checkGroupCommit(options.groupCommit, defaultMaxInFlight);
  return {
    schema,
    autoCreate: options.autoCreate ?? true,
    pageSize,
    maxInFlight,
    timeoutMs: options.timeoutMs,
  };
}

/** The store on `driver`, after migrations when `autoCreate` is on; a failure closes the driver if it is owned. */
export async function openStore(driver: SqlDriver, checked: CheckedOptions): Promise<PostgresEventStore> {
  const { schema, autoCreate, pageSize, maxInFlight, timeoutMs } = checked;
  let store: PostgresEventStore;
  try {
    store = new PostgresEventStore(driver, { schema, pageSize, maxInFlight, timeoutMs });
  } catch (err) {
    await driver.close().catch(() => {});
    throw err;
  }
  if (autoCreate) {
    try {
      await migrate(driver, schema);
    } catch (err) {
      await driver.close().catch(() => {});
      throw mapError(err, { operation: 'open', request: 'migrate' });
    }
  }
  return store;
}
