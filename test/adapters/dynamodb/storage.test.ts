import { randomUUID } from 'node:crypto';
import { GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoDBEventStore, type DynamoDBEventStore } from '../../../src/adapters/dynamodb/index.js';
import { rawClient, tableName } from './support.js';

const table = tableName('storage');
const client = rawClient();
let store: DynamoDBEventStore;

beforeAll(async () => {
  store = createDynamoDBEventStore({ client, tableName: table });
});
afterAll(async () => {
  await store.close();
  client.destroy();
});

async function getItem(pk: string, sk: string) {
  const out = await client.send(
    new GetItemCommand({ TableName: table, Key: { pk: { S: pk }, sk: { S: sk } }, ConsistentRead: true }),
  );
  return out.Item;
}

describe('DynamoDB adapter: what is stored', () => {
  it('writes one item per event under STREAM#<id> / VERSION#<20 digits>, with the JSON text as given', async () => {
    const streamId = `order#1/ä b 🎉-${randomUUID()}`;
    const data = { text: 'NUL \u0000 and "quotes"', n: 1e21 };
    const id = randomUUID();
    const r = await store.append(streamId, [{ type: 'Placed', data, metadata: { by: 'me' }, id }]);
    const item = await getItem(`STREAM#${streamId}`, `VERSION#${'1'.padStart(20, '0')}`);
    expect(item).toBeDefined();
    expect(item!.id!.S).toBe(id);
    expect(item!.t!.S).toBe('Placed');
    expect(item!.d!.S).toBe(JSON.stringify(data));
    expect(item!.m!.S).toBe('{"by":"me"}');
    expect(item!.v!.N).toBe('1');
    expect(BigInt(item!.p!.N!)).toBe(r.lastPosition);
    expect(item!.lb!.S).toBe('LOG#0');
    expect(Object.keys(item!).sort()).toEqual(['d', 'id', 'lb', 'm', 'p', 'pk', 'sk', 't', 'ts', 'v']);
  });

  it('writes one claim per append at its first position, covering the whole range', async () => {
    const streamId = `claims-${randomUUID()}`;
    const r = await store.append(streamId, [
      { type: 'A', data: 1 },
      { type: 'B', data: 2 },
      { type: 'C', data: 3 },
    ]);
    const first = r.lastPosition! - 2n;
    const claim = await getItem('LOG#0', `POS#${first.toString().padStart(20, '0')}`);
    expect(claim).toMatchObject({ k: { S: 'E' }, n: { N: '3' }, s: { S: streamId }, v: { N: '1' } });
    const events = await client.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: `STREAM#${streamId}` } },
        ConsistentRead: true,
      }),
    );
    expect(events.Items!.map((i) => BigInt(i.p!.N!))).toEqual([first, first + 1n, first + 2n]);
    expect(claim!.id!.S).toBe(events.Items![0]!.id!.S);
  });

  it('keeps the position counter at or above every position handed out', async () => {
    const r = await store.append(`counter-${randomUUID()}`, [{ type: 'A', data: 1 }]);
    const counter = await getItem('COUNTER', 'POSITION');
    expect(BigInt(counter!.h!.N!)).toBeGreaterThanOrEqual(r.lastPosition!);
  });

  it('fills the range of an append that lost a race, so that no position is left unaccounted for', async () => {
    const streamId = `race-${randomUUID()}`;
    await store.append(streamId, [{ type: 'A', data: 0 }]);
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, k) =>
        store.append(streamId, [{ type: 'A', data: k }], { expectedVersion: 1 }),
      ),
    );
    expect(results.filter((x) => x.status === 'fulfilled')).toHaveLength(1);
    const counter = BigInt((await getItem('COUNTER', 'POSITION'))!.h!.N!);
    // Every position up to the counter is covered by a claim (k = E) or a filler (k = F).
    const claims = await client.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: 'LOG#0' } },
        ConsistentRead: true,
      }),
    );
    const covered = new Set<bigint>();
    for (const c of claims.Items ?? []) {
      const first = BigInt(c.sk!.S!.slice(4));
      for (let k = 0n; k < BigInt(c.n!.N!); k++) covered.add(first + k);
    }
    for (let p = 1n; p <= counter; p++) expect(covered.has(p), `position ${p}`).toBe(true);
    const fillers = (claims.Items ?? []).filter((c) => c.k!.S === 'F');
    expect(fillers.length).toBeGreaterThanOrEqual(5);
  });

  it('creates the table on first use with the documented keys and the log index', async () => {
    const { DescribeTableCommand } = await import('@aws-sdk/client-dynamodb');
    const t = (await client.send(new DescribeTableCommand({ TableName: table }))).Table!;
    expect(t.TableStatus).toBe('ACTIVE');
    expect(t.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(t.GlobalSecondaryIndexes?.[0]).toMatchObject({
      IndexName: 'log',
      KeySchema: [
        { AttributeName: 'lb', KeyType: 'HASH' },
        { AttributeName: 'p', KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    });
  });

  it('keeps a snapshot as one item in the stream partition, under sk SNAPSHOT and outside the log index', async () => {
    const streamId = `snap-${randomUUID()}`;
    await store.append(streamId, [{ type: 'A', data: 1 }]);
    await store.snapshots.save(streamId, { state: { n: 1 }, version: 1, schemaVersion: 2 });
    const item = await getItem(`STREAM#${streamId}`, 'SNAPSHOT');
    expect(item).toMatchObject({ d: { S: '{"n":1}' }, v: { N: '1' }, sv: { N: '2' } });
    expect(Object.keys(item!).sort()).toEqual(['d', 'pk', 'sk', 'sv', 'ts', 'v']);
    // Beside the event in the partition; the stream reads only the event.
    const partition = await client.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: `STREAM#${streamId}` } },
        ConsistentRead: true,
      }),
    );
    expect(partition.Items!.map((i) => i.sk!.S)).toEqual(['SNAPSHOT', `VERSION#${'1'.padStart(20, '0')}`]);
    expect(await store.streamVersion(streamId)).toBe(1);
    const read = [];
    for await (const e of store.readStream(streamId, { direction: 'backwards' })) read.push(e.version);
    expect(read).toEqual([1]);
  });
});
