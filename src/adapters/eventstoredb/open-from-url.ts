import { EventStoreDBClient } from '@eventstore/db-client';
import { InvalidArgumentError } from '../../contract/index.js';
import { assertKnownParams, readDeadlines } from '../../url-options.js';
import { EventStoreDBEventStore } from './eventstoredb-event-store.js';
import { validateOptions } from './options.js';

/** URL scheme → the client's connection-string scheme. `kurrentdb` is the server's new name. */
const CLIENT_SCHEMES: Readonly<Record<string, string>> = {
  'esdb:': 'esdb',
  'esdb+discover:': 'esdb+discover',
  'kurrentdb:': 'esdb',
  'kurrentdb+discover:': 'esdb+discover',
};

/**
 * `esdb://host:2113?tls=false`, `esdb+discover://…`, `kurrentdb://…`, `kurrentdb+discover://…`: the URL is the
 * client's connection string (its query parameters are the client's settings), with `kurrentdb` read as `esdb`.
 * The store owns the client it builds and disposes of it in `close()`. Options: `maxAppendSize` and
 * `maxAppendEventSize` (the server's limits, when not the defaults), `idempotencyWindow`, `idempotency`,
 * `timeoutMs` (the `timeout_ms` URL parameter; see {@link withDeadline}). Nothing is created on first use, so
 * `autoCreate` has no effect.
 */
export async function openFromUrl(
  url: URL,
  options: Record<string, unknown>,
): Promise<EventStoreDBEventStore> {
  const opts = validateOptions(options, ['autoCreate']);
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
  const deadline = Number(clientUrl.searchParams.get('defaultDeadline'));
  const timeoutMs = Number.isSafeInteger(deadline) && deadline > 0 ? deadline : opts.timeoutMs;
  return new EventStoreDBEventStore(
    client,
    { ...opts, ...(timeoutMs === undefined ? {} : { timeoutMs }) },
    true,
  );
}

/**
 * The URL with the kit's deadline turned into the client's: `timeout_ms` (or `options.timeoutMs`, default 30000)
 * becomes `defaultDeadline`, the gRPC deadline of every append and of the client's other unary calls, and the
 * store's own deadline. The client's own `defaultDeadline` setting is accepted as a synonym; giving both is
 * INVALID_ARGUMENT. The client's streaming reads carry no gRPC deadline (the store's own deadline bounds each pull),
 * and gRPC keepalive (`keepAliveInterval`, `keepAliveTimeout`, 10 s each by default) closes a channel whose server
 * stopped answering pings, frozen or gone without a FIN, within about 20 s; the calls on it then fail with
 * UNAVAILABLE.
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
