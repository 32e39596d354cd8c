import { createEventStore } from '../../../src/index.js';
import { describeEventStoreConformance } from '../../conformance/index.js';
import { dynamodbUrl, tableName } from './support.js';

const table = tableName('conformance');

describeEventStoreConformance({
  name: 'dynamodb (DynamoDB Local)',
  create: () => createEventStore(dynamodbUrl(table)),
});
