import { ErrorCodes, type EventStore, EventStoreError, InvalidArgumentError } from './contract/index.js';
import { type CreateEventStoreOptions, normalizeOptions } from './url-options.js';

export * from './command/index.js';
export * from './contract/errors.js';
export * from './contract/subscriptions.js';
export type * from './contract/types.js';
export {
  MAX_EVENT_TYPE_BYTES,
  MAX_JSON_DEPTH,
  MAX_POSITION_INT64,
  MAX_STREAM_ID_LENGTH,
} from './contract/validate.js';
export { SNAPSHOT_OVERHEAD_BYTES } from './contract/validate-snapshot.js';
export * from './copy/index.js';
export * from './projections/index.js';
export * from './upcasting/index.js';
export type { CreateEventStoreOptions } from './url-options.js';

/**
 * Opens a store for a URL of its scheme (see {@link registerScheme}). It receives the parsed URL and the options
 * passed to `createEventStore` (a plain object, possibly empty), validates both (INVALID_ARGUMENT for what it does
 * not know), and returns a store that owns what it built and releases it in `close()`.
 */
export type SchemeOpener = (url: URL, options: Record<string, unknown>) => Promise<EventStore>;

/**
 * The scheme table: URL scheme -> adapter, loaded lazily so that using one backend never loads another's driver.
 */
const SCHEMES: Readonly<Record<string, () => Promise<SchemeOpener>>> = {
  'memory:': async () => (await import('./adapters/memory/open-from-url.js')).openFromUrl,
  'pglite:': async () => (await import('./adapters/postgres/open-from-url.js')).openFromUrl,
  'postgres:': async () => (await import('./adapters/postgres/open-from-url.js')).openFromUrl,
  'postgresql:': async () => (await import('./adapters/postgres/open-from-url.js')).openFromUrl,
  'esdb:': async () => (await import('./adapters/eventstoredb/open-from-url.js')).openFromUrl,
  'esdb+discover:': async () => (await import('./adapters/eventstoredb/open-from-url.js')).openFromUrl,
  'kurrentdb:': async () => (await import('./adapters/eventstoredb/open-from-url.js')).openFromUrl,
  'kurrentdb+discover:': async () => (await import('./adapters/eventstoredb/open-from-url.js')).openFromUrl,
  'dynamodb:': async () => (await import('./adapters/dynamodb/open-from-url.js')).openFromUrl,
};

/** The built-in URL schemes, e.g. `memory:`. Schemes added with {@link registerScheme} come on top. */
export const knownSchemes: readonly string[] = Object.freeze(Object.keys(SCHEMES));

/** Schemes registered by other adapters, with `registerScheme`. */
const registered = new Map<string, SchemeOpener>();

/** Every scheme `createEventStore` accepts right now, for error messages. */
function schemeList(): string {
  return [...knownSchemes, ...registered.keys()].join(', ');
}

/**
 * Lets `createEventStore` open URLs of `scheme` with `opener`, so that an adapter outside this package is chosen by
 * configuration like the built-in ones. `scheme` is a URL scheme (`mystore` or `mystore:`), compared without
 * case. Returns a function that removes the registration.
 *
 * A built-in scheme cannot be replaced, and a scheme registered with another opener cannot be taken over:
 * both are INVALID_ARGUMENT. Registering the same opener again does nothing.
 *
 * @example
 * registerScheme('mystore', async (url, options) => openMyStore(url, options));
 * const store = await createEventStore('mystore://host/db');
 */
export function registerScheme(scheme: string, opener: SchemeOpener): () => void {
  const name = typeof scheme === 'string' ? scheme.toLowerCase().replace(/:$/, '') : '';
  if (!/^[a-z][a-z0-9+.-]*$/.test(name)) {
    throw new InvalidArgumentError('scheme must be a URL scheme such as mystore', { argument: 'scheme' });
  }
  if (typeof opener !== 'function') {
    throw new InvalidArgumentError('opener must be a function (url, options) => Promise<EventStore>', {
      argument: 'opener',
    });
  }
  const key = `${name}:`;
  if (Object.hasOwn(SCHEMES, key)) {
    throw new InvalidArgumentError(`'${key}' is a built-in scheme and cannot be replaced`, {
      argument: 'scheme',
    });
  }
  const current = registered.get(key);
  if (current !== undefined && current !== opener) {
    throw new InvalidArgumentError(`'${key}' is already registered by another adapter`, {
      argument: 'scheme',
    });
  }
  registered.set(key, opener);
  return () => {
    if (registered.get(key) === opener) registered.delete(key);
  };
}

/** Parses `url` without ever echoing it (it may hold a password). */
function parseUrl(url: unknown): URL {
  if (typeof url !== 'string' || url.trim() === '') {
    throw new InvalidArgumentError(
      `The event store URL must be a non-empty string; known schemes: ${schemeList()}`,
      {
        argument: 'url',
      },
    );
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    throw new InvalidArgumentError(`The event store URL has no scheme; known schemes: ${schemeList()}`, {
      argument: 'url',
    });
  }
  if (!Object.hasOwn(SCHEMES, `${scheme}:`) && !registered.has(`${scheme}:`)) {
    throw new InvalidArgumentError(`Unknown scheme '${scheme}:'; known schemes: ${schemeList()}`, {
      argument: 'url',
    });
  }
  try {
    return new URL(url);
  } catch {
    throw new InvalidArgumentError(`Malformed ${scheme}: URL`, { argument: 'url' });
  }
}

/**
 * Opens the event store a URL names. The scheme picks the adapter:
 * `memory:`, `pglite:`, `postgres://`, `dynamodb://`, `esdb://` (each documented in README), or one added with
 * {@link registerScheme}. The store owns
 * what it builds from the URL and closes it in `close()`.
 *
 * An unknown scheme, a malformed URL or an unknown option is `INVALID_ARGUMENT`; the URL itself never appears in
 * an error, since it may hold a password.
 *
 * @example
 * const store = await createEventStore(process.env.EVENT_STORE_URL ?? 'memory:');
 */
export async function createEventStore(url: string, options?: CreateEventStoreOptions): Promise<EventStore> {
  const parsed = parseUrl(url);
  const opts = normalizeOptions(options);
  const key = parsed.protocol.toLowerCase();
  const load = SCHEMES[key];
  const open = load === undefined ? registered.get(key)! : await load();
  try {
    return await open(parsed, opts);
  } catch (err) {
    throw missingDriver(err, parsed.protocol) ?? err;
  }
}

/** A driver is an optional peer dependency: say which one to install instead of Node's bare resolution error. */
function missingDriver(err: unknown, scheme: string): EventStoreError | undefined {
  if ((err as { code?: unknown } | null)?.code !== 'ERR_MODULE_NOT_FOUND') return undefined;
  const pkg =
    /Cannot find (?:package|module) '([^']+)'/.exec(String((err as Error).message))?.[1] ?? 'its driver';
  return new EventStoreError(
    ErrorCodes.BACKEND_ERROR,
    `The ${scheme} scheme needs the optional peer dependency '${pkg}': npm install ${pkg}`,
    { cause: err },
  );
}
