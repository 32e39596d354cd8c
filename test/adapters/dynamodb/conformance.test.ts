import { describeEventStoreConformance } from '../../../src/conformance/index.js';
import { createEventStore } from '../../../src/index.js';
import { dynamodbUrl, tableName } from './support.js';

const table = tableName('conformance');

describeEventStoreConformance({
  name: 'dynamodb (DynamoDB Local)',
  create: () => createEventStore(dynamodbUrl(table)),
  sharedBackend: true,
});
