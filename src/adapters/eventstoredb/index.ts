import { EventStoreDBClient } from '@eventstore/db-client';
import { InvalidArgumentError } from '../../contract/index.js';
import { assertKnownOptions, assertKnownParams, readDeadlines } from '../../url-options.js';
import {
  EventStoreDBEventStore,
  type EventStoreDBEventStoreOptions,
  MAX_IDEMPOTENCY_WINDOW,
} from './eventstoredb-event-store.js';

export type { IdempotencyMode } from './append.js';
export {
  DEFAULT_IDEMPOTENCY_WINDOW,
  DEFAULT_MAX_APPEND_BYTES,
  EventStoreDBEventStore,
  type EventStoreDBEventStoreOptions,
  MAX_IDEMPOTENCY_WINDOW,
} from './eventstoredb-event-store.js';
export { declaredLimits, type ServerLimits, serverEventSize } from './limits.js';
export { mapError } from './map-error.js';
export {
  decodePosition,
  encodePosition,
  type LogPosition,
  MAX_LOG_POSITION,
  MAX_POSITION,
  PREPARE_BITS,
} from './position.js';

/**
 * A store over a client you built and own: `close()` leaves it open.
 *
 * @example
 * const client = EventStoreDBClient.connectionString`esdb://localhost:2113?tls=false`;
 * const store = createEventStoreDBEventStore(client);
 */
export function createEventStoreDBEventStore(
  client: EventStoreDBClient,
  options: EventStoreDBEventStoreOptions = {},
): EventStoreDBEventStore {
  if (!(client instanceof EventStoreDBClient)) {
    throw new InvalidArgumentError('client must be an EventStoreDBClient', { argument: 'client' });
  }
  assertKnownOptions(options as Record<string, unknown>, [...OPTIONS]);
  return new EventStoreDBEventStore(client, validateOptions(options as Record<string, unknown>));
}

/** URL scheme → the client's connection-string scheme. `kurrentdb` is the server's new name. */
const CLIENT_SCHEMES: Readonly<Record<string, string>> = {
  'esdb:': 'esdb',
  'esdb+discover:': 'esdb+discover',
  'kurrentdb:': 'esdb',
  'kurrentdb+discover:': 'esdb+discover',
};

const OPTIONS = ['maxAppendSize', 'maxAppendEventSize', 'idempotencyWindow', 'idempotency'] as const;

function validateOptions(options: Record<string, unknown>): EventStoreDBEventStoreOptions {
  const out: EventStoreDBEventStoreOptions = {};
  for (const key of ['maxAppendSize', 'maxAppendEventSize', 'idempotencyWindow'] as const) {
    const v = options[key];
    if (v === undefined) continue;
    const max = key === 'idempotencyWindow' ? MAX_IDEMPOTENCY_WINDOW : Number.MAX_SAFE_INTEGER;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1 || v > max) {
      throw new InvalidArgumentError(`options.${key} must be an integer from 1 to ${max}`, {
        argument: `options.${key}`,
      });
    }
    out[key] = v;
  }
  const mode = options.idempotency;
  if (mode !== undefined) {
    if (mode !== 'adapter' && mode !== 'server') {
      throw new InvalidArgumentError("options.idempotency must be 'adapter' or 'server'", {
        argument: 'options.idempotency',
      });
    }
    out.idempotency = mode;
  }
  return out;
}

/**
 * `esdb://host:2113?tls=false`, `esdb+discover://…`, `kurrentdb://…`, `kurrentdb+discover://…`: the URL is the
 * client's connection string (its query parameters are the client's settings), with `kurrentdb` read as `esdb`.
 * The store owns the client it builds and disposes of it in `close()`. Options: `maxAppendSize` and
 * `maxAppendEventSize` (the server's limits, when not the defaults), `idempotencyWindow`, `idempotency`, `timeoutMs` (the `timeout_ms` URL parameter). Nothing is
 * created on first use, so `autoCreate` has no effect.
 */
export async function openFromUrl(
  url: URL,
  options: Record<string, unknown>,
): Promise<EventStoreDBEventStore> {
  assertKnownOptions(options, ['autoCreate', 'timeoutMs', ...OPTIONS]);
  const opts = validateOptions(options);
  const scheme = CLIENT_SCHEMES[url.protocol.toLowerCase()];
  if (scheme === undefined || url.host === '') {
    throw new InvalidArgumentError(`${url.protocol} URL needs a host, e.g. esdb://localhost:2113?tls=false`, {
      argument: 'url',
    });
  }
  // The client only warns about an unknown setting (or tlsVerifyCert=false), and its warning prints the whole
  // connection string, password included: refuse them before it sees them.
  assertKnownParams(url, [...CLIENT_SETTINGS, 'timeout_ms'], flat);
  const clientUrl = withDeadline(url, options);
  let client: EventStoreDBClient;
  try {
    client = EventStoreDBClient.connectionString(
      `${scheme}:${clientUrl.href.slice(clientUrl.protocol.length)}`,
    );
  } catch (err) {
    // The client's message may quote the connection string (and so a password): name the failure only.
    const kind = err instanceof Error ? err.name : 'error';
    throw new InvalidArgumentError(`Invalid ${url.protocol} connection string (${kind})`, {
      argument: 'url',
    });
  }
  return new EventStoreDBEventStore(client, opts, true);
}

/**
 * The URL with the kit's deadline turned into the client's: `timeout_ms` (or `options.timeoutMs`, default 30000)
 * becomes `defaultDeadline`, the gRPC deadline of every append and of the client's other unary calls. The client's
 * own `defaultDeadline` setting is accepted as a synonym; giving both is INVALID_ARGUMENT. The client's streaming
 * reads carry no gRPC deadline (the store's own deadline bounds them), and gRPC keepalive (`keepAliveInterval`,
 * `keepAliveTimeout`, 10 s each by default) closes a channel whose server stopped answering pings, frozen or gone
 * without a FIN, within about 20 s; the calls on it then fail with UNAVAILABLE.
 */
function withDeadline(url: URL, options: Record<string, unknown>): URL {
  const given = [...url.searchParams.keys()].filter((key) => flat(key) === 'defaultdeadline');
  const hasKitParam = [...url.searchParams.keys()].some((key) => flat(key) === 'timeoutms');
  if (given.length > 0 && (hasKitParam || options.timeoutMs !== undefined)) {
    throw new InvalidArgumentError(
      'Give the deadline once: timeout_ms (or options.timeoutMs) or defaultDeadline',
      {
        argument: 'url',
      },
    );
  }
  const out = new URL(url.href);
  for (const key of [...out.searchParams.keys()]) {
    if (flat(key) === 'timeoutms') {
      const value = out.searchParams.get(key);
      out.searchParams.delete(key);
      if (value !== null) out.searchParams.set('timeout_ms', value);
    }
  }
  if (given.length > 0) return url;
  const { timeoutMs } = readDeadlines(out, options);
  out.searchParams.delete('timeout_ms');
  out.searchParams.set('defaultDeadline', String(timeoutMs));
  return out;
}

/** The connection-string settings the client understands, compared as it does (case, `-` and `_` ignored). */
const CLIENT_SETTINGS = [
  'tls',
  // Not tlsVerifyCert: this client ignores it, and its warning about it prints the whole connection string.
  'tlsCAFile',
  'userCertFile',
  'userKeyFile',
  'connectionName',
  'maxDiscoverAttempts',
  'discoveryInterval',
  'gossipTimeout',
  'nodePreference',
  'defaultDeadline',
  'throwOnAppendFailure',
  'keepAliveInterval',
  'keepAliveTimeout',
];
/** The client's own comparison of setting names: case, `-` and `_` ignored. */
const flat = (key: string) => key.trim().toLowerCase().replace(/[_-]/g, '');
