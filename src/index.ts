import { ErrorCodes, type EventStore, EventStoreError, InvalidArgumentError } from './contract/index.js';
import { type CreateEventStoreOptions, normalizeOptions } from './url-options.js';

export * from './contract/index.js';
export type { CreateEventStoreOptions } from './url-options.js';

type Opener = (url: URL, options: Record<string, unknown>) => Promise<EventStore>;

/**
 * The scheme table: URL scheme -> adapter, loaded lazily so that using one backend never loads another's driver.
 */
const SCHEMES: Readonly<Record<string, () => Promise<Opener>>> = {
  'memory:': async () => (await import('./adapters/memory/index.js')).openFromUrl,
  'pglite:': async () => (await import('./adapters/postgres/index.js')).openFromUrl,
  'postgres:': async () => (await import('./adapters/postgres/index.js')).openFromUrl,
  'postgresql:': async () => (await import('./adapters/postgres/index.js')).openFromUrl,
  'esdb:': async () => (await import('./adapters/eventstoredb/index.js')).openFromUrl,
  'esdb+discover:': async () => (await import('./adapters/eventstoredb/index.js')).openFromUrl,
  'kurrentdb:': async () => (await import('./adapters/eventstoredb/index.js')).openFromUrl,
  'kurrentdb+discover:': async () => (await import('./adapters/eventstoredb/index.js')).openFromUrl,
  'dynamodb:': async () => (await import('./adapters/dynamodb/index.js')).openFromUrl,
};

/** The URL schemes `createEventStore` knows, e.g. `memory:`. */
export const knownSchemes: readonly string[] = Object.freeze(Object.keys(SCHEMES));

/** Parses `url` without ever echoing it (it may hold a password). */
function parseUrl(url: unknown): URL {
  if (typeof url !== 'string' || url.trim() === '') {
    throw new InvalidArgumentError(
      `The event store URL must be a non-empty string; known schemes: ${knownSchemes.join(', ')}`,
      {
        argument: 'url',
      },
    );
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    throw new InvalidArgumentError(
      `The event store URL has no scheme; known schemes: ${knownSchemes.join(', ')}`,
      {
        argument: 'url',
      },
    );
  }
  if (!Object.hasOwn(SCHEMES, `${scheme}:`)) {
    throw new InvalidArgumentError(`Unknown scheme '${scheme}:'; known schemes: ${knownSchemes.join(', ')}`, {
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
 * `memory:`, `pglite:`, `postgres://`, `dynamodb://`, `esdb://` (each documented in README). The store owns
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
  const load = SCHEMES[parsed.protocol.toLowerCase()]!;
  const open = await load();
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
