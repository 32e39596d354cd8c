import { EventStoreDBClient } from '@eventstore/db-client';
import { InvalidArgumentError } from '../../contract/index.js';
import { assertKnownParams } from '../../url-options.js';
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
 * `timeoutMs`. Nothing is created on first use, so `autoCreate` has no effect.
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
  assertKnownParams(url, CLIENT_SETTINGS, flat);
  let client: EventStoreDBClient;
  try {
    client = EventStoreDBClient.connectionString(`${scheme}:${url.href.slice(url.protocol.length)}`);
  } catch (err) {
    // The client's message may quote the connection string (and so a password): name the failure only.
    const kind = err instanceof Error ? err.name : 'error';
    throw new InvalidArgumentError(`Invalid ${url.protocol} connection string (${kind})`, {
      argument: 'url',
    });
  }
  return new EventStoreDBEventStore(client, opts, true);
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
