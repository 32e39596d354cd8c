import { randomUUID } from 'node:crypto';
import { CreateTableCommand, DescribeTableCommand, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { createDynamoDBEventStore, tableDefinition } from '../../../src/adapters/dynamodb/index.js';
import { createEventStore } from '../../../src/index.js';
import { dynamodbEndpoint, dynamodbUrl, rawClient, tableName } from './support.js';

const client = rawClient();
afterAll(() => client.destroy());

const endpoint = () => encodeURIComponent(dynamodbEndpoint());

describe('DynamoDB adapter: configuration', () => {
  it('opens dynamodb://<table>?region=…&endpoint=… with dummy credentials for a local endpoint', async () => {
    const table = tableName('url');
    const store = await createEventStore(dynamodbUrl(table));
    await store.append('s', [{ type: 'A', data: 1 }]);
    expect(await store.streamVersion('s')).toBe(1);
    await store.close();
    await store.close();
    await expect(store.streamVersion('s')).rejects.toMatchObject({ code: 'STORE_CLOSED' });
    const tables = await client.send(new ListTablesCommand({}));
    expect(tables.TableNames).toContain(table);
  });

  it('rejects bad table names, unknown parameters and options with INVALID_ARGUMENT', async () => {
    for (const url of [
      `dynamodb://ab?endpoint=${endpoint()}`,
      `dynamodb://bad*name?endpoint=${endpoint()}`,
      `dynamodb://${'x'.repeat(256)}?endpoint=${endpoint()}`,
      'dynamodb://',
      'dynamodb://events/extra/path',
      'dynamodb://events:8000',
      'dynamodb://events?regoin=eu-west-1',
      'dynamodb://events?region=EU_WEST',
      'dynamodb://events?endpoint=ftp://x',
      'dynamodb://events?endpoint=not a url',
    ]) {
      await expect(createEventStore(url), url).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    await expect(createEventStore(dynamodbUrl('events'), { poolSize: 3 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(createEventStore(dynamodbUrl('events'), { holeTimeoutMs: -1 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    expect(() => createDynamoDBEventStore({ client, tableName: 'no' })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => createDynamoDBEventStore({ client: {} as never, tableName: 'events' })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });

  it('never echoes credentials given in the URL or the endpoint', async () => {
    const secret = 'wJalrXUtnFEMI-very-secret';
    for (const url of [
      `dynamodb://AKIDEXAMPLE:${secret}@events?region=eu-west-1`,
      `dynamodb://events?endpoint=${encodeURIComponent(`http://AKIDEXAMPLE:${secret}@127.0.0.1:8000`)}`,
    ]) {
      const err = (await createEventStore(url).catch((e: unknown) => e)) as Error;
      expect(err).toMatchObject({ code: 'INVALID_ARGUMENT' });
      expect(err.message).not.toContain(secret);
      expect(String(err.stack)).not.toContain(secret);
    }
  });

  it('uses a client the caller passes in, and leaves it open on close', async () => {
    const table = tableName('own-client');
    const store = createDynamoDBEventStore({ client, tableName: table });
    await store.append('s', [{ type: 'A', data: 1 }]);
    await store.close();
    const t = await client.send(new DescribeTableCommand({ TableName: table }));
    expect(t.Table?.TableStatus).toBe('ACTIVE');
  });

  it('with autoCreate: false, neither creates the table nor hides its absence', async () => {
    const table = tableName('absent');
    const store = createDynamoDBEventStore({ client, tableName: table, autoCreate: false });
    await expect(store.append('s', [{ type: 'A', data: 1 }])).rejects.toMatchObject({
      code: 'BACKEND_ERROR',
      message: expect.stringContaining('does not exist'),
    });
    await expect(client.send(new DescribeTableCommand({ TableName: table }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });

  it('works on a table created from the documented definition, with autoCreate: false', async () => {
    const table = tableName('iac');
    await client.send(new CreateTableCommand(tableDefinition(table)));
    const store = createDynamoDBEventStore({ client, tableName: table, autoCreate: false });
    const id = `s-${randomUUID()}`;
    await store.append(id, [{ type: 'A', data: 1 }]);
    const read = [];
    for await (const e of store.readAll()) read.push(e.streamId);
    expect(read).toEqual([id]);
    await store.close();
  });

  it('refuses a table that exists with another shape', async () => {
    const table = tableName('other-shape');
    await client.send(
      new CreateTableCommand({
        TableName: table,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      }),
    );
    const store = createDynamoDBEventStore({ client, tableName: table });
    await expect(store.streamVersion('s')).rejects.toMatchObject({ code: 'BACKEND_ERROR' });
  });

  it('reports an unreachable endpoint as UNAVAILABLE', async () => {
    const store = await createEventStore(
      `dynamodb://events?region=us-east-1&endpoint=${encodeURIComponent('http://127.0.0.1:9')}`,
    );
    await expect(store.streamVersion('s')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await store.close();
  });
});
