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
  /** Counter ADDs answered while one of this client's transactions was in flight, with the ranges they got. */
  aheadRanges: Array<{ first: bigint; last: bigint }>;
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
  const traffic: Traffic = { sizes: [], aheadRanges: [], claimQueries: 0 };
  let transactions = 0;
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
        transactions++;
        try {
          if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
          return await next(args);
        } finally {
          transactions--;
        }
      }
      if (command === 'UpdateItemCommand') {
        const out = await next(args);
        // One commit at a time: a counter update that is answered while a transaction is in flight took positions
        // for a group that is not formed yet.
        if (transactions === 0) return out;
        const n = BigInt(
          (args.input as { ExpressionAttributeValues: Record<string, { N: string }> })
            .ExpressionAttributeValues[':n']!.N,
        );
        const h = BigInt((out.output as unknown as { Attributes: { h: { N: string } } }).Attributes.h.N);
        traffic.aheadRanges.push({ first: h - n + 1n, last: h });
        return out;
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

/** readAll by a store that would wait a minute on a hole: timed, so that a hole shows as a slow read. */
async function timedRead(table: string, prefix: string, after = 0n) {
  const { store } = open(table, { holeTimeoutMs: 60_000, holeWaitMs: 30_000 });
  const t0 = performance.now();
  const events: RecordedEvent[] = [];
  for await (const e of store.readAll({ after, filter: { streamPrefix: prefix } })) events.push(e);
  return { events, ms: performance.now() - t0 };
}

describe('DynamoDB adapter: positions taken ahead', () => {
  it('puts every caller in flight into one group under a steady load, and takes its positions during the previous transaction', async () => {
    const table = tableName('ahead-groups');
    const { store, traffic } = open(table, { delayMs: 20 });
    const p = `g-${randomUUID()}/`;
    const settled = await load(store, p, 8, 12);
    expect(settled.every((r) => r.status === 'fulfilled')).toBe(true);
    // After the first round, each transaction holds the eight appends and the claim.
    const steady = traffic.sizes.slice(2, -1);
    expect(steady.filter((n) => n === 9).length).toBeGreaterThanOrEqual(steady.length * 0.75);
    expect(traffic.aheadRanges.length).toBeGreaterThan(0);
    const { counterRequests, commits } = store.stats;
    expect(counterRequests).toBeLessThanOrEqual(commits + 2);
    // The last block taken ahead had no group left to use it: it is given up, so no hole is left behind.
    await expect.poll(() => store.stats.blocksGivenUp).toBeGreaterThanOrEqual(1);
    await expect.poll(() => uncovered(table)).toEqual([]);
  });

  it('gives up positions taken ahead when the store goes idle, so readers do not wait at them', async () => {
    const table = tableName('ahead-idle');
    const busy = open(table, { delayMs: 20 });
    const p = `i-${randomUUID()}/`;
    await load(busy.store, p, 4, 8);
    await expect.poll(() => busy.store.stats.blocksGivenUp).toBeGreaterThanOrEqual(1);
    // Another store commits past the given-up block; a reader with a one-minute hole timeout reads it at once.
    const other = open(table);
    const later = await other.store.append(`${p}later`, [{ type: 'Later', data: 1 }]);
    await expect.poll(() => uncovered(table)).toEqual([]);
    const read = await timedRead(table, p);
    expect(read.events).toHaveLength(4 * 8 + 1);
    expect(read.events.at(-1)!.position).toBe(later.lastPosition);
    expect(read.ms).toBeLessThan(5_000);
  });

  it('lets the appends handed in finish on close, then gives up the positions it took ahead', async () => {
    const table = tableName('ahead-close');
    const { store } = open(table, { delayMs: 20 });
    const p = `c-${randomUUID()}/`;
    const running = load(store, p, 6, 50);
    await new Promise((r) => setTimeout(r, 300));
    await store.close();
    const settled = await running;
    const written = settled.filter((r) => r.status === 'fulfilled').length;
    expect(written).toBeGreaterThan(0);
    // Appends that came after close were refused; none that was handed in before was dropped.
    for (const r of settled) {
      if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'STORE_CLOSED' });
    }
    expect(await uncovered(table)).toEqual([]);
    const other = open(table);
    const later = await other.store.append(`${p}later`, [{ type: 'Later', data: 1 }]);
    const read = await timedRead(table, p);
    expect(read.events).toHaveLength(written + 1);
    expect(read.events.at(-1)!.position).toBe(later.lastPosition);
    expect(read.ms).toBeLessThan(5_000);
  });

  it('gives up the whole block of a commit that fails, and the next groups go on', async () => {
    const table = tableName('ahead-fail');
    let failed = 0;
    const { store } = open(table, {
      delayMs: 20,
      fail: (items, traffic) => {
        if (failed > 0) return false;
        const claim = items.find((i) => i.Put?.Item?.pk?.S?.startsWith('LOG#'))!.Put!.Item!;
        const first = BigInt(claim.sk!.S!.slice(4));
        const ahead = traffic.aheadRanges.some((r) => r.first <= first && first <= r.last);
        if (ahead) failed++;
        return ahead;
      },
    });
    const p = `f-${randomUUID()}/`;
    const settled = await load(store, p, 4, 10);
    expect(failed).toBe(1);
    const rejected = settled.filter((r) => r.status === 'rejected');
    expect(rejected.length).toBeGreaterThan(0);
    for (const r of rejected) expect(r.reason).toMatchObject({ code: 'BACKEND_ERROR' });
    await expect.poll(() => uncovered(table)).toEqual([]);
    const read = await timedRead(table, p);
    expect(read.events).toHaveLength(settled.length - rejected.length);
    expect(read.ms).toBeLessThan(5_000);
  });

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

  it('does not use positions taken ahead for an append whose base event it knows lies past them', async () => {
    const table = tableName('ahead-order');
    const a = open(table, { delayMs: 150 });
    const b = open(table);
    const p = `o-${randomUUID()}/`;
    const shared = `${p}shared`;
    await b.store.streamVersion(shared); // the table exists
    const running = load(a.store, `${p}busy-`, 4, 12);
    // Once store a is busy, it holds a block taken during each of its (slow) transactions.
    await expect.poll(() => a.store.stats.blocksAhead, { timeout: 10_000 }).toBeGreaterThan(2);
    const ahead = a.traffic.aheadRanges.length;
    const first = await b.store.append(shared, [{ type: 'B', data: 1 }]);
    const second = await a.store.append(shared, [{ type: 'A', data: 2 }]);
    await running;
    // Store a held positions below the one store b wrote at when it appended to the shared stream.
    expect(a.traffic.aheadRanges.slice(ahead - 1).some((r) => r.first < first.lastPosition!)).toBe(true);
    expect(second.nextExpectedVersion).toBe(2);
    expect(second.lastPosition!).toBeGreaterThan(first.lastPosition!);
    const read: RecordedEvent[] = [];
    for await (const e of a.store.readStream(shared)) read.push(e);
    expect(read.map((e) => [e.version, e.position])).toEqual([
      [1, first.lastPosition],
      [2, second.lastPosition],
    ]);
  });
});
