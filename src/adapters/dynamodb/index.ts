import { DynamoDBEventStore, type DynamoDBEventStoreOptions } from './dynamodb-event-store.js';

export { DynamoDBEventStore, type DynamoDBEventStoreOptions } from './dynamodb-event-store.js';
export type { DynamoDBSubscriptionTransaction } from './subscriptions.js';
export { tableDefinition } from './table.js';

/**
 * A store over a DynamoDBClient you own (`close()` leaves it open).
 *
 * @example
 * const store = createDynamoDBEventStore({ client: new DynamoDBClient({}), tableName: 'events' });
 */
export function createDynamoDBEventStore(options: DynamoDBEventStoreOptions): DynamoDBEventStore {
  return new DynamoDBEventStore(options);
}
