import { EventStoreDBClient } from '@eventstore/db-client';
import { InvalidArgumentError } from '../../contract/index.js';
import { EventStoreDBEventStore, type EventStoreDBEventStoreOptions } from './eventstoredb-event-store.js';
import { validateOptions } from './options.js';

export type { IdempotencyMode } from './append.js';
export {
  DEFAULT_IDEMPOTENCY_WINDOW,
  DEFAULT_MAX_APPEND_BYTES,
  EventStoreDBEventStore,
  type EventStoreDBEventStoreOptions,
  MAX_IDEMPOTENCY_WINDOW,
} from './eventstoredb-event-store.js';
export { declaredLimits, type ServerLimits, serverEventSize } from './limits.js';

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
  return new EventStoreDBEventStore(client, validateOptions(options as Record<string, unknown>));
}
