import { randomUUID } from 'node:crypto';
import { TransactWriteItemsCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createDynamoDBEventStore,
  type DynamoDBEventStore,
  type DynamoDBEventStoreOptions,
} from '../../../src/adapters/dynamodb/index.js';
import type { RecordedEvent } from '../../../src/index.js';
import { rawClient, tableName } from './support.js';

const client = rawClient();
const opened: DynamoDBEventStore[] = [];

afterAll(async () => {
  for (const s of opened) await s.close();
  client.destroy();
});

function open(table: string, options: Partial<DynamoDBEventStoreOptions> = {}): DynamoDBEventStore {
  const store = createDynamoDBEventStore({ client, tableName: table, ...options });
  opened.push(store);
  return store;
}

async function readAll(store: DynamoDBEventStore, prefix: string, after = 0n): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const e of store.readAll({ after, filter: { streamPrefix: prefix } })) out.push(e);
  return out;
}

/** What a writer that crashed after taking positions leaves behind: positions handed out, never claimed. */
async function burnPositions(table: string, count: number): Promise<bigint> {
  const out = await client.send(
    new UpdateItemCommand({
      TableName: table,
      Key: { pk: { S: 'COUNTER' }, sk: { S: 'POSITION' } },
      UpdateExpression: 'ADD h :n',
      ExpressionAttributeValues: { ':n': { N: String(count) } },
      ReturnValues: 'UPDATED_NEW',
    }),
  );
  return BigInt(out.Attributes!.h!.N!) - BigInt(count) + 1n;
}

describe('DynamoDB adapter: global order', () => {
  it('stops before a hole left by a crashed writer, then fills it after the hole timeout and goes on', async () => {
    const table = tableName('holes');
    // The hole's age counts from when its positions were handed out: long enough for a slow machine to read first.
    const store = open(table, { holeTimeoutMs: 4_000, holeWaitMs: 50 });
    const p = `h-${randomUUID()}/`;
    const before = await store.append(`${p}a`, [{ type: 'A', data: 1 }]);
    const hole = await burnPositions(table, 3);
    const after = await store.append(`${p}b`, [{ type: 'B', data: 2 }]);
    const written = Date.now(); // the event after the hole was stamped before this
    expect(after.lastPosition).toBe(hole + 3n);
    // The reader returns what lies before the hole, and nothing after it yet.
    expect((await readAll(store, p)).map((e) => e.position)).toEqual([before.lastPosition]);
    await new Promise((r) => setTimeout(r, Math.max(0, written + 4_100 - Date.now())));
    expect((await readAll(store, p)).map((e) => e.position)).toEqual([
      before.lastPosition,
      after.lastPosition,
    ]);
    // A writer that comes back late to a filled position cannot commit there.
    const late = client.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          {
            Put: {
              TableName: table,
              Item: {
                pk: { S: 'LOG#0' },
                sk: { S: `POS#${hole.toString().padStart(20, '0')}` },
                k: { S: 'E' },
              },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
        ],
      }),
    );
    await expect(late).rejects.toMatchObject({ name: 'TransactionCanceledException' });
  });

  it('counts a hole from when its positions were handed out: one holeTimeoutMs per crash, whatever the holes', async () => {
    const table = tableName('crash');
    const writer = open(table);
    const p = `c-${randomUUID()}/`;
    const first = await writer.append(`${p}a`, [{ type: 'A', data: 1 }]);
    // One crash leaves two holes: a commit of 99 positions plus a block of 99, and 10 more behind an event.
    await burnPositions(table, 198);
    const middle = await writer.append(`${p}b`, [{ type: 'B', data: 2 }]);
    await burnPositions(table, 10);
    const last = await writer.append(`${p}c`, [{ type: 'C', data: 3 }]);
    await new Promise((r) => setTimeout(r, 700));
    // A reader that has never seen these holes: they are already older than its hole timeout.
    const watched = rawClient();
    let claimQueries = 0;
    watched.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { ConsistentRead?: boolean; KeyConditionExpression?: string };
        if (context.commandName === 'QueryCommand' && input.KeyConditionExpression?.startsWith('pk = :b')) {
          claimQueries++;
        }
        return next(args);
      },
      { step: 'initialize', name: 'countClaimQueries' },
    );
    const reader = createDynamoDBEventStore({
      client: watched,
      tableName: table,
      holeTimeoutMs: 600,
      // Counted from when this reader first saw them, the holes would stop it after 50 ms, before them.
      holeWaitMs: 50,
    });
    try {
      const read = await readAll(reader, p);
      expect(read.map((e) => e.position)).toEqual([
        first.lastPosition,
        middle.lastPosition,
        last.lastPosition,
      ]);
      // Filled at once in one call, each hole whole: one claim query per hole, none per filled position.
      expect(claimQueries).toBeLessThanOrEqual(4);
    } finally {
      await reader.close();
      watched.destroy();
    }
  });

  it('never returns an event behind a position it already returned, with writers in several stores', async () => {
    const table = tableName('order');
    // Small log buckets, so that appends and reads cross bucket boundaries often.
    const stores = Array.from({ length: 3 }, () => open(table, { logBucketSize: 16n, holeWaitMs: 20 }));
    const reader = open(table, { logBucketSize: 16n, holeWaitMs: 20 });
    const p = `o-${randomUUID()}/`;
    const streams = 9;
    const perStream = 8;
    const seen: RecordedEvent[] = [];
    let writing = true;
    const tail = (async () => {
      let after = 0n;
      while (writing || seen.length < streams * perStream * 2) {
        const page = await readAll(reader, p, after);
        for (const e of page) {
          expect(e.position).toBeGreaterThan(after);
          after = e.position;
          seen.push(e);
        }
        if (page.length === 0) await new Promise((r) => setTimeout(r, 5));
      }
    })();
    await Promise.all(
      Array.from({ length: streams }, async (_, s) => {
        for (let k = 0; k < perStream; k++) {
          const store = stores[(s + k) % stores.length]!;
          // 'any' from several stores to one stream: races that lose fill their ranges.
          await store.append(`${p}${s % 3}`, [
            { type: 'E', data: { s, k } },
            { type: 'E', data: { s, k, second: true } },
          ]);
        }
      }),
    );
    writing = false;
    await tail;
    expect(seen).toHaveLength(streams * perStream * 2);
    expect(new Set(seen.map((e) => e.id)).size).toBe(seen.length);
    const final = await readAll(reader, p);
    expect(final.map((e) => e.id)).toEqual(seen.map((e) => e.id));
    for (let s = 0; s < 3; s++) {
      const versions = final.filter((e) => e.streamId === `${p}${s}`).map((e) => e.version);
      expect(versions).toEqual(Array.from({ length: versions.length }, (_, k) => k + 1));
    }
  });

  it('reads across log buckets, and past buckets that hold only filled positions', async () => {
    const table = tableName('buckets');
    const store = open(table, { logBucketSize: 4n, holeTimeoutMs: 0, holeWaitMs: 20 });
    const p = `b-${randomUUID()}/`;
    const first = await store.append(`${p}x`, [{ type: 'A', data: 1 }]);
    await burnPositions(table, 9); // positions in this bucket and two more, none ever claimed
    const big = await store.append(
      `${p}y`,
      Array.from({ length: 10 }, (_, i) => ({ type: 'B', data: i })),
    );
    const read = await readAll(store, p);
    expect(read.map((e) => e.position)).toEqual([
      first.lastPosition,
      ...Array.from({ length: 10 }, (_, i) => big.lastPosition! - 9n + BigInt(i)),
    ]);
    expect(read.map((e) => e.data)).toEqual([1, ...Array.from({ length: 10 }, (_, i) => i)]);
  });

  it('keeps position order equal to version order when writers race on one stream', async () => {
    const table = tableName('versions');
    const stores = Array.from({ length: 4 }, () => open(table));
    const id = `v-${randomUUID()}`;
    await Promise.all(
      Array.from({ length: 24 }, (_, k) => stores[k % 4]!.append(id, [{ type: 'E', data: k }])),
    );
    const read: RecordedEvent[] = [];
    for await (const e of stores[0]!.readStream(id)) read.push(e);
    expect(read.map((e) => e.version)).toEqual(Array.from({ length: 24 }, (_, k) => k + 1));
    for (let k = 1; k < read.length; k++) expect(read[k]!.position).toBeGreaterThan(read[k - 1]!.position);
  });
});
