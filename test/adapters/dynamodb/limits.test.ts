import { randomUUID } from 'node:crypto';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { createDynamoDBEventStore } from '../../../src/adapters/dynamodb/index.js';
import { rawClient, tableName } from './support.js';

const client = rawClient();
const table = tableName('limits');
const store = createDynamoDBEventStore({ client, tableName: table });
afterAll(async () => {
  await store.close();
  client.destroy();
});

async function counter(): Promise<bigint> {
  const out = await client.send(
    new GetItemCommand({
      TableName: table,
      Key: { pk: { S: 'COUNTER' }, sk: { S: 'POSITION' } },
      ConsistentRead: true,
    }),
  );
  return BigInt(out.Item?.h?.N ?? '0');
}

describe('DynamoDB adapter: limits', () => {
  it('declares limits that fit DynamoDB: 100 actions per transaction, 400 KB per item, 4 MB per transaction', () => {
    expect(store.capabilities).toMatchObject({
      maxEventsPerAppend: 98,
      maxEventBytes: 400 * 1024 - 2048,
      maxAppendBytes: 3.25 * 1024 * 1024,
      idempotencyWindow: 20,
    });
  });

  it('stores an event of exactly maxEventBytes, multi-byte, under the longest multi-byte stream id', async () => {
    const { maxEventBytes } = store.capabilities;
    // 255 three-byte characters: the largest key a valid stream id makes.
    const streamId = '日'.repeat(255);
    const type = 'T'.repeat(255);
    const metadata = { note: 'é'.repeat(100) };
    const fixed = type.length + JSON.stringify(metadata).length + 100 + 2;
    const data = '€'.repeat(Math.floor((maxEventBytes - fixed) / 3));
    const pad = 'x'.repeat(maxEventBytes - fixed - 3 * data.length);
    const bytes =
      Buffer.byteLength(type) +
      Buffer.byteLength(JSON.stringify(data + pad)) +
      Buffer.byteLength(JSON.stringify(metadata));
    expect(bytes).toBe(maxEventBytes);
    // A second store has not seen the stream: its append also carries the base-version check.
    await store.append(streamId, [{ type: 'First', data: 1 }]);
    const cold = createDynamoDBEventStore({ client, tableName: table });
    await cold.append(streamId, [{ type, data: data + pad, metadata }], { expectedVersion: 1 });
    const read = [];
    for await (const e of cold.readStream(streamId, { fromVersion: 2 })) read.push(e);
    expect(read[0]!.data).toBe(data + pad);
    await cold.close();
  });

  it('appends maxEventsPerAppend events at an unseen base version: 98 puts, the check and the claim', async () => {
    const id = `many-${randomUUID()}`;
    await store.append(id, [{ type: 'A', data: 0 }]);
    const cold = createDynamoDBEventStore({ client, tableName: table });
    const n = cold.capabilities.maxEventsPerAppend;
    const r = await cold.append(
      id,
      Array.from({ length: n }, (_, i) => ({ type: 'A', data: i + 1 })),
      { expectedVersion: 1 },
    );
    expect(r.nextExpectedVersion).toBe(n + 1);
    await cold.close();
  });

  it('appends a batch of maxAppendBytes in one transaction', async () => {
    const { maxAppendBytes, maxEventsPerAppend } = store.capabilities;
    const n = maxEventsPerAppend;
    const per = Math.floor(maxAppendBytes / n);
    const events = Array.from({ length: n }, () => ({ type: 'Big', data: 'x'.repeat(per - 3 - 2 - 2) }));
    const id = `bytes-${randomUUID()}`;
    await store.append(id, [{ type: 'A', data: 0 }]);
    const cold = createDynamoDBEventStore({ client, tableName: table });
    await expect(cold.append(id, events, { expectedVersion: 1 })).resolves.toMatchObject({
      nextExpectedVersion: n + 1,
    });
    await cold.close();
  });

  it('rejects an oversized append before touching DynamoDB: no position is even handed out', async () => {
    const before = await counter();
    const { maxEventBytes, maxEventsPerAppend } = store.capabilities;
    await expect(
      store.append(`x-${randomUUID()}`, [{ type: 'A', data: 'x'.repeat(maxEventBytes) }]),
    ).rejects.toMatchObject({ code: 'EVENT_TOO_LARGE' });
    await expect(
      store.append(
        `x-${randomUUID()}`,
        Array.from({ length: maxEventsPerAppend + 1 }, () => ({ type: 'A', data: 1 })),
      ),
    ).rejects.toMatchObject({ code: 'APPEND_TOO_LARGE' });
    expect(await counter()).toBe(before);
  });
});
