import { randomUUID } from 'node:crypto';
import { type DynamoDBClient, GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { createDynamoDBEventStore, type DynamoDBEventStore } from '../../../src/adapters/dynamodb/index.js';
import { rawClient, tableName } from './support.js';

const table = tableName('groups');
const reader = rawClient();
const opened: Array<{ store: DynamoDBEventStore; client: DynamoDBClient }> = [];

afterAll(async () => {
  for (const { store, client } of opened) {
    await store.close();
    client.destroy();
  }
  reader.destroy();
});

/** A store whose transactions are counted by size; `refuse` may reject one before it is sent. */
function open(refuse?: (actions: number) => boolean) {
  const client = rawClient();
  const sizes: number[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'TransactWriteItemsCommand') {
        const actions = (args.input as { TransactItems: unknown[] }).TransactItems.length;
        sizes.push(actions);
        if (refuse?.(actions)) {
          throw Object.assign(new Error('Transaction request cannot be processed (injected)'), {
            name: 'ValidationException',
            $metadata: { httpStatusCode: 400 },
          });
        }
      }
      return next(args);
    },
    { step: 'initialize', name: 'countTransactions' },
  );
  const store = createDynamoDBEventStore({ client, tableName: table });
  opened.push({ store, client });
  return { store, sizes };
}

async function claims(): Promise<Array<{ first: bigint; n: number; kind: string }>> {
  const out = await reader.send(
    new QueryCommand({
      TableName: table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': { S: 'LOG#0' } },
      ConsistentRead: true,
    }),
  );
  return (out.Items ?? []).map((i) => ({
    first: BigInt(i.sk!.S!.slice(4)),
    n: Number(i.n!.N),
    kind: i.k!.S!,
  }));
}

describe('DynamoDB adapter: group commit', () => {
  it('commits concurrent appends to different streams together, each at its own positions, under one claim', async () => {
    const { store, sizes } = open();
    const p = `g-${randomUUID()}/`;
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, k) =>
        store.append(`${p}${k}`, [
          { type: 'A', data: k },
          { type: 'B', data: k },
        ]),
      ),
    );
    expect(sizes.length).toBeLessThan(12);
    expect(Math.max(...sizes)).toBeGreaterThan(3); // more than one append's puts and claim in a transaction
    const last = results.map((r) => r.lastPosition!);
    expect(new Set(last).size).toBe(12);
    const read = [];
    for await (const e of store.readAll({ filter: { streamPrefix: p } })) read.push(e);
    expect(read).toHaveLength(24);
    for (const [k, r] of results.entries()) {
      const own = read.filter((e) => e.streamId === `${p}${k}`);
      expect(own.map((e) => e.version)).toEqual([1, 2]);
      expect(own[1]!.position).toBe(r.lastPosition);
      expect(own[0]!.position).toBe(r.lastPosition! - 1n);
    }
    const shared = (await claims()).filter((c) => c.kind === 'E' && c.n > 2);
    expect(shared.length).toBeGreaterThan(0);
  });

  it('lets one append of a group fail on its expected version while the others commit', async () => {
    const { store } = open();
    const taken = `taken-${randomUUID()}`;
    await store.append(taken, [{ type: 'A', data: 0 }]);
    const fresh = Array.from({ length: 5 }, () => `fresh-${randomUUID()}`);
    const blocker = store.append(`blocker-${randomUUID()}`, [{ type: 'A', data: 0 }]);
    const results = await Promise.allSettled([
      blocker,
      store.append(taken, [{ type: 'A', data: 1 }], { expectedVersion: 'no_stream' }),
      ...fresh.map((id) => store.append(id, [{ type: 'A', data: 1 }], { expectedVersion: 'no_stream' })),
    ]);
    expect(results[1]).toMatchObject({ status: 'rejected', reason: { code: 'WRONG_EXPECTED_VERSION' } });
    for (const r of [results[0], ...results.slice(2)]) expect(r!.status).toBe('fulfilled');
    for (const id of fresh) expect(await store.streamVersion(id)).toBe(1);
    expect(await store.streamVersion(taken)).toBe(1);
    // Every position handed out is covered by a claim or a filler: readers never wait for the failed attempt.
    const counter = await reader.send(
      new GetItemCommand({
        TableName: table,
        Key: { pk: { S: 'COUNTER' }, sk: { S: 'POSITION' } },
        ConsistentRead: true,
      }),
    );
    const covered = new Set<bigint>();
    for (const c of await claims()) for (let k = 0n; k < BigInt(c.n); k++) covered.add(c.first + k);
    for (let pos = 1n; pos <= BigInt(counter.Item!.h!.N!); pos++)
      expect(covered.has(pos), `${pos}`).toBe(true);
  });

  it('commits the appends of a group one by one when DynamoDB refuses the group as a whole', async () => {
    let refused = 0;
    const { store, sizes } = open((actions) => actions > 3 && refused++ === 0);
    const ids = Array.from({ length: 6 }, () => `split-${randomUUID()}`);
    const results = await Promise.all(ids.map((id) => store.append(id, [{ type: 'A', data: 1 }])));
    expect(refused).toBe(1);
    expect(results.every((r) => r.nextExpectedVersion === 1)).toBe(true);
    // The refused group held (actions - 1) one-event appends; each then went alone: one put and the claim.
    const at = sizes.findIndex((n) => n > 3);
    const members = sizes[at]! - 1;
    expect(sizes.slice(at + 1, at + 1 + members)).toEqual(Array.from({ length: members }, () => 2));
    for (const id of ids) expect(await store.streamVersion(id)).toBe(1);
  });
});
