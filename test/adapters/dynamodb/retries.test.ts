import { randomUUID } from 'node:crypto';
import {
  type DynamoDBClient,
  ProvisionedThroughputExceededException,
  QueryCommand,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createDynamoDBEventStore, type DynamoDBEventStore } from '../../../src/adapters/dynamodb/index.js';
import { rawClient, tableName } from './support.js';

const table = tableName('retries');
const opened: Array<{ store: DynamoDBEventStore; client: DynamoDBClient }> = [];
const reader = rawClient();

afterAll(() => reader.destroy());

afterEach(async () => {
  for (const { store, client } of opened.splice(0)) {
    await store.close();
    client.destroy();
  }
});

type Fault = (command: string, call: number) => 'before' | 'after' | undefined;

/**
 * A store whose client fails some requests on purpose. 'before' throws instead of sending (DynamoDB never saw
 * it); 'after' sends, then throws as if the answer was lost. DynamoDB Local never throttles nor reports transaction
 * conflicts, so this is how those paths are reached.
 */
function storeWithFaults(fault: Fault, errorFor: (command: string) => Error) {
  const client = rawClient();
  const calls: Record<string, number> = {};
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = String(context.commandName).replace(/Command$/, '');
      calls[command] = (calls[command] ?? 0) + 1;
      const when = fault(command, calls[command]);
      if (when === 'before') throw errorFor(command);
      const out = await next(args);
      if (when === 'after') throw errorFor(command);
      return out;
    },
    { step: 'initialize', name: 'injectFaults' },
  );
  const store = createDynamoDBEventStore({
    client,
    tableName: table,
    retry: { maxAttempts: 5, baseDelayMs: 1, maxDelayMs: 5 },
  });
  opened.push({ store, client });
  return { store, calls };
}

const conflict = () =>
  new TransactionCanceledException({
    message: 'Transaction cancelled (injected)',
    $metadata: {},
    CancellationReasons: [{ Code: 'None' }, { Code: 'TransactionConflict' }],
  });
const throttled = () =>
  new ProvisionedThroughputExceededException({ message: 'Throughput exceeded (injected)', $metadata: {} });
const connectionReset = () => Object.assign(new Error('socket hang up (injected)'), { code: 'ECONNRESET' });

async function storedIds(client: DynamoDBClient, streamId: string): Promise<string[]> {
  const out = await client.send(
    new QueryCommand({
      TableName: table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': { S: `STREAM#${streamId}` } },
      ConsistentRead: true,
    }),
  );
  return (out.Items ?? []).map((i) => i.id!.S!);
}

describe('DynamoDB adapter: retries', () => {
  it('retries a transaction cancelled by TransactionConflict, and writes the batch once', async () => {
    const { store, calls } = storeWithFaults(
      (command, call) => (command === 'TransactWriteItems' && call <= 3 ? 'before' : undefined),
      conflict,
    );
    const streamId = `conflict-${randomUUID()}`;
    const batch = [
      { type: 'A', data: 1, id: randomUUID() },
      { type: 'B', data: 2, id: randomUUID() },
    ];
    await expect(store.append(streamId, batch, { expectedVersion: 'no_stream' })).resolves.toMatchObject({
      nextExpectedVersion: 2,
    });
    expect(calls.TransactWriteItems).toBe(4);
    expect(store.stats.retries).toBe(3);
    expect(await storedIds(reader, streamId)).toEqual(batch.map((e) => e.id));
  });

  it('retries throttled requests of every kind: the counter, the transaction and reads', async () => {
    const { store, calls } = storeWithFaults(
      (command, call) =>
        ['UpdateItem', 'TransactWriteItems', 'Query'].includes(command) && call <= 2 ? 'before' : undefined,
      throttled,
    );
    const streamId = `throttled-${randomUUID()}`;
    await store.append(streamId, [{ type: 'A', data: 1 }]);
    expect(calls.UpdateItem).toBe(3);
    expect(calls.TransactWriteItems).toBe(3);
    expect(store.stats.retries).toBeGreaterThanOrEqual(6);
    expect(await store.streamVersion(streamId)).toBe(1);
  });

  it('never duplicates an event when a committed transaction answer is lost and the retry resends it', async () => {
    const { store, calls } = storeWithFaults(
      (command, call) => (command === 'TransactWriteItems' && call === 1 ? 'after' : undefined),
      connectionReset,
    );
    const streamId = `lost-answer-${randomUUID()}`;
    const batch = [{ type: 'A', data: 1, id: randomUUID() }];
    const r = await store.append(streamId, batch);
    expect(r.nextExpectedVersion).toBe(1);
    expect(calls.TransactWriteItems).toBeGreaterThanOrEqual(2);
    expect(await storedIds(reader, streamId)).toEqual([batch[0]!.id]);
    const read = [];
    for await (const e of store.readAll({ filter: { streamPrefix: streamId } })) read.push(e);
    expect(read.map((e) => e.position)).toEqual([r.lastPosition]);
  });

  it('gives up after the bounded attempts with UNAVAILABLE, having written nothing', async () => {
    const { store, calls } = storeWithFaults(
      (command) => (command === 'TransactWriteItems' ? 'before' : undefined),
      throttled,
    );
    const streamId = `exhausted-${randomUUID()}`;
    await expect(store.append(streamId, [{ type: 'A', data: 1 }])).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      streamId,
    });
    expect(calls.TransactWriteItems).toBe(5);
    expect(await storedIds(reader, streamId)).toEqual([]);
  });

  it('does not resend a counter update whose answer was lost: it reports UNAVAILABLE instead', async () => {
    const { store, calls } = storeWithFaults(
      (command, call) => (command === 'UpdateItem' && call === 1 ? 'after' : undefined),
      connectionReset,
    );
    const streamId = `counter-lost-${randomUUID()}`;
    await expect(store.append(streamId, [{ type: 'A', data: 1 }])).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
    expect(calls.UpdateItem).toBe(1);
    // The retry the contract advises succeeds, once.
    await expect(store.append(streamId, [{ type: 'A', data: 1 }])).resolves.toMatchObject({
      nextExpectedVersion: 1,
    });
  });
});
