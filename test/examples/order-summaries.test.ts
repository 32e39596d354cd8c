import { describe, expect, inject, it } from 'vitest';
import {
  type OpenOptions,
  openOrderSummaries,
  orderSummariesStatus,
  runOrderSummaries,
} from '../../examples/order-summaries/run.js';
import { dynamodbUrl, tableName } from '../adapters/dynamodb/support.js';
import { serverUrl, uniqueSchema } from '../adapters/postgres/support.js';

/**
 * The order_summaries example on every backend the suite has, by URL. Each case gets its own store (schema, table)
 * and its own read-model schema; on the shared EventStoreDB emulator it reads other files' events too, and checks
 * only its own orders' rows.
 */
const cases: [string, () => OpenOptions, 'exactly-once' | 'at-least-once'][] = [
  ['the embedded default (PGlite, read model in the same database)', () => ({}), 'exactly-once'],
  ['memory, read model in PGlite', () => ({ eventStoreUrl: 'memory:' }), 'at-least-once'],
  [
    'a PostgreSQL server, read model in the same database',
    () => ({ eventStoreUrl: serverUrl(uniqueSchema('example')) }),
    'exactly-once',
  ],
  [
    'DynamoDB Local, read model on the PostgreSQL server',
    () => ({ eventStoreUrl: dynamodbUrl(tableName('example')), readModelUrl: inject('postgresUrl') }),
    'at-least-once',
  ],
  [
    'the EventStoreDB emulator, read model in PGlite',
    () => ({ eventStoreUrl: inject('esdbUrl') }),
    'at-least-once',
  ],
];

describe('examples/order-summaries', () => {
  it.each(cases)('runs on %s', { timeout: 180_000 }, async (_name, options, delivery) => {
    const setup = await openOrderSummaries(options());
    const schema = uniqueSchema('order_summaries');
    try {
      const run = await runOrderSummaries(setup, undefined, { schema });
      expect(run.delivery).toBe(delivery);
      const shape = run.rows.map(({ customer, total, status, carrier, version }) => ({
        customer,
        total,
        status,
        carrier,
        version,
      }));
      expect(shape.sort((a, b) => (a.customer! < b.customer! ? -1 : 1))).toEqual([
        { customer: 'ada', total: 42, status: 'shipped', carrier: 'courier', version: 2 },
        { customer: 'grace', total: 7, status: 'shipped', carrier: 'post', version: 2 },
      ]);
      expect(run.status).toMatchObject({ generation: 1, lagEvents: 0, lagSeconds: 0 });
      expect(run.rebuiltRows).toEqual(run.rows);
      const outside = await orderSummariesStatus(setup, { schema });
      expect(outside).toMatchObject({ generation: 2, subscription: 'projection:order_summaries:v2' });
      expect(outside?.position).toBeDefined();
    } finally {
      await setup.close();
    }
  });
});
