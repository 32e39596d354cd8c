import { randomUUID } from 'node:crypto';
import {
  type DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  type TransactWriteItem,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { prepareAppend } from '../../../src/adapter/index.js';
import {
  createDynamoDBEventStore,
  type DynamoDBEventStore,
  type DynamoDBEventStoreOptions,
} from '../../../src/adapters/dynamodb/index.js';
import { appendClaimItem, eventItem } from '../../../src/adapters/dynamodb/items.js';
import type { RecordedEvent } from '../../../src/index.js';
import { rawClient, tableName } from './support.js';

const raw = rawClient();
const opened: Array<{ store: DynamoDBEventStore; client: DynamoDBClient }> = [];

afterAll(async () => {
  for (const { store, client } of opened) {
    await store.close();
    client.destroy();
  }
  raw.destroy();
});

interface Traffic {
  /** Actions per TransactWriteItems sent. */
  sizes: number[];
  /** Strongly consistent Queries of claims. */
  claimQueries: number;
}

/**
 * A store on a client of its own that watches its traffic. `delayMs` slows every transaction down (so that
 * positions are surely taken while one is in flight); `fail` may refuse a transaction before it is sent.
 */
function open(
  table: string,
  options: Partial<DynamoDBEventStoreOptions> & {
    delayMs?: number;
    fail?: (items: TransactWriteItem[], traffic: Traffic) => boolean;
  } = {},
) {
  const { delayMs = 0, fail, ...storeOptions } = options;
  const client = rawClient();
  const traffic: Traffic = { sizes: [], claimQueries: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName;
      if (command === 'TransactWriteItemsCommand') {
        const items = (args.input as { TransactItems: TransactWriteItem[] }).TransactItems;
        traffic.sizes.push(items.length);
        if (fail?.(items, traffic)) {
          throw Object.assign(new Error('Access denied (injected)'), {
            name: 'AccessDeniedException',
            $metadata: { httpStatusCode: 400 },
          });
        }
        if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
        return next(args);
      }
      if (command === 'QueryCommand') {
        const input = args.input as {
          ConsistentRead?: boolean;
          IndexName?: string;
          KeyConditionExpression: string;
        };
        if (input.ConsistentRead && input.KeyConditionExpression.startsWith('pk = :b'))
          traffic.claimQueries++;
      }
      return next(args);
    },
    { step: 'initialize', name: 'watchTraffic' },
  );
  const store = createDynamoDBEventStore({ client, tableName: table, ...storeOptions });
  opened.push({ store, client });
  return { store, traffic };
}

/** `workers` callers, each appending one event at a time to streams of its own, `perWorker` times. */
async function load(store: DynamoDBEventStore, prefix: string, workers: number, perWorker: number) {
  const settled: PromiseSettledResult<unknown>[] = [];
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      for (let k = 0; k < perWorker; k++) {
        const [r] = await Promise.allSettled([
          store.append(`${prefix}${w}`, [{ type: 'E', data: { w, k } }], { expectedVersion: 'any' }),
        ]);
        settled.push(r!);
      }
    }),
  );
  return settled;
}

async function counter(table: string): Promise<bigint> {
  const out = await raw.send(
    new GetItemCommand({
      TableName: table,
      Key: { pk: { S: 'COUNTER' }, sk: { S: 'POSITION' } },
      ConsistentRead: true,
    }),
  );
  return BigInt(out.Item?.h?.N ?? '0');
}

/** Positions up to the counter that no claim or filler covers: holes a reader would have to wait out. */
async function uncovered(table: string): Promise<bigint[]> {
  const high = await counter(table);
  const covered = new Set<bigint>();
  let start: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue> | undefined;
  do {
    const out = await raw.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: 'LOG#0' } },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    for (const c of out.Items ?? []) {
      const first = BigInt(c.sk!.S!.slice(4));
      for (let k = 0n; k < BigInt(c.n!.N!); k++) covered.add(first + k);
    }
    start = out.LastEvaluatedKey;
  } while (start);
  const holes: bigint[] = [];
  for (let p = 1n; p <= high; p++) if (!covered.has(p)) holes.push(p);
  return holes;
}

describe('DynamoDB adapter: commits under load, and commits with unused positions', () => {
  it('puts every caller in flight into one group under a steady load, with one counter update per transaction', async () => {
    const table = tableName('ahead-groups');
    const { store, traffic } = open(table, { delayMs: 20 });
    const p = `g-${randomUUID()}/`;
    const settled = await load(store, p, 8, 12);
    expect(settled.every((r) => r.status === 'fulfilled')).toBe(true);
    // After the first round, each transaction holds the eight appends and the claim.
    const steady = traffic.sizes.slice(2, -1);
    expect(steady.filter((n) => n === 9).length).toBeGreaterThanOrEqual(steady.length * 0.75);
    const { counterRequests, commits } = store.stats;
    expect(counterRequests).toBe(commits);
    expect(await uncovered(table)).toEqual([]);
  });

  // Tables written by stores that took positions ahead of their groups hold such commits; readers step over them.
  it('steps over the positions a commit took but did not use, without asking its claim', async () => {
    const table = tableName('ahead-unused');
    const { store } = open(table);
    const p = `u-${randomUUID()}/`;
    const before = await store.append(`${p}a`, [{ type: 'A', data: 0 }]);
    // A commit that took five positions and used two, as one with a block taken ahead writes it.
    const out = await raw.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { pk: { S: 'COUNTER' }, sk: { S: 'POSITION' } },
        UpdateExpression: 'ADD h :n',
        ExpressionAttributeValues: { ':n': { N: '5' } },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    const first = BigInt(out.Attributes!.h!.N!) - 4n;
    const caps = store.capabilities;
    const events = prepareAppend(
      `${p}b`,
      [
        { type: 'B', data: 1 },
        { type: 'B', data: 2 },
      ],
      undefined,
      caps,
    ).events;
    const now = Date.now();
    await raw.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          { Put: { TableName: table, Item: eventItem(`${p}b`, 1, first, now, events[0]!, 1_000_000n) } },
          {
            Put: {
              TableName: table,
              Item: eventItem(`${p}b`, 2, first + 1n, now, events[1]!, 1_000_000n, first + 5n),
            },
          },
          {
            Put: {
              TableName: table,
              Item: appendClaimItem(`${p}b`, 1, first, 5, events[0]!.id, now, 1_000_000n, randomUUID(), 2),
            },
          },
        ],
      }),
    );
    const after = await store.append(`${p}c`, [{ type: 'C', data: 3 }]);
    expect(after.lastPosition).toBe(first + 5n);
    const reader = open(table, { holeTimeoutMs: 60_000, holeWaitMs: 30_000 });
    const read: RecordedEvent[] = [];
    for await (const e of reader.store.readAll({ filter: { streamPrefix: p } })) read.push(e);
    expect(read.map((e) => e.position)).toEqual([before.lastPosition, first, first + 1n, first + 5n]);
    expect(reader.traffic.claimQueries).toBe(0);
    // Resuming inside the unused positions: the claim says they hold nothing.
    const resumed: RecordedEvent[] = [];
    for await (const e of reader.store.readAll({ after: first + 2n, filter: { streamPrefix: p } }))
      resumed.push(e);
    expect(resumed.map((e) => e.position)).toEqual([first + 5n]);
  });
});
