import { randomUUID } from 'node:crypto';
import { QueryCommand, TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, expect, it } from 'vitest';
import type { DynamoDBSubscriptionTransaction } from '../../src/adapters/dynamodb/index.js';
import { createEventStore, type EventStore } from '../../src/index.js';
import { dynamodbUrl, rawClient, tableName } from '../adapters/dynamodb/support.js';

/**
 * A transactional subscription on DynamoDB Local: the handler writes a read-model item and the checkpoint Put (with
 * the lease check) in one TransactWriteItems. Stopped in the middle and started again, the read model holds exactly
 * one item per event, and the checkpoint is the last event's position.
 */
const table = tableName('subtx');
const client = rawClient();
const stores: EventStore[] = [];

afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  client.destroy();
});

it('keeps a read model exactly once with the checkpoint in the handler transaction', {
  timeout: 180_000,
}, async () => {
  const store = await createEventStore(dynamodbUrl(table));
  stores.push(store);
  const prefix = `p${randomUUID().slice(0, 8)}/`;
  const name = `tx-${randomUUID()}`;
  for (let i = 0; i < 6; i++) {
    await store.append(
      `${prefix}${i}`,
      Array.from({ length: 10 }, (_, j) => ({ type: 'T', data: { i, j } })),
    );
  }
  const model = `MODEL#${name}`;
  let handled = 0;
  const start = (limit: number) => {
    let stopAt: (() => void) | undefined;
    const reached = new Promise<void>((resolve) => {
      stopAt = resolve;
    });
    const sub = store.subscribe({
      name,
      transactional: true,
      filter: { streamPrefix: prefix },
      handler: async (event, { tx }) => {
        const { items } = tx as DynamoDBSubscriptionTransaction;
        await client.send(
          new TransactWriteItemsCommand({
            TransactItems: [
              { Put: { TableName: table, Item: { pk: { S: model }, sk: { S: event.id } } } },
              ...items,
            ],
          }),
        );
        if (++handled >= limit) stopAt?.();
      },
    });
    return { sub, reached };
  };
  const first = start(25);
  await first.reached;
  await first.sub.stop();
  const second = start(60);
  await second.reached;
  await second.sub.stop();
  const rows = await client.send(
    new QueryCommand({
      TableName: table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': { S: model } },
      ConsistentRead: true,
    }),
  );
  expect(rows.Count).toBe(60);
  expect(handled).toBe(60);
  const events: bigint[] = [];
  for await (const e of store.readAll({ filter: { streamPrefix: prefix } })) events.push(e.position);
  expect(await store.checkpoints.load(name)).toBe(events.at(-1));
});
