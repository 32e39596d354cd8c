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

/** What one TransactWriteItems carried: its number of actions and the streams whose events it put. */
interface SentTransaction {
  actions: number;
  streams: string[];
}

/** The distinct streams whose event items a transaction puts (claims, fillers and checks are not events). */
function streamsPut(items: ReadonlyArray<{ Put?: { Item?: Record<string, { S?: string }> } }>): string[] {
  const streams = new Set<string>();
  for (const item of items) {
    const pk = item.Put?.Item?.pk?.S;
    if (pk?.startsWith('STREAM#')) streams.add(pk.slice('STREAM#'.length));
  }
  return [...streams];
}

/** A store whose transactions are recorded; `refuse` may reject one before it is sent. */
function open(refuse?: (sent: SentTransaction) => boolean) {
  const client = rawClient();
  const sizes: number[] = [];
  const sent: SentTransaction[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'TransactWriteItemsCommand') {
        const items = (args.input as { TransactItems: Parameters<typeof streamsPut>[0] }).TransactItems;
        const tx = { actions: items.length, streams: streamsPut(items) };
        sizes.push(tx.actions);
        sent.push(tx);
        if (refuse?.(tx)) {
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
  return { store, sizes, sent };
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
    // Refuse the first transaction that carries the events of three or more appends: a group. Transactions are
    // told apart by what they put, not by their size, since fillers and claims may travel in transactions too.
    let refusedGroup: string[] | undefined;
    const { store, sent } = open((tx) => {
      if (refusedGroup || tx.streams.length < 3) return false;
      refusedGroup = tx.streams;
      return true;
    });
    const ids = Array.from({ length: 6 }, () => `split-${randomUUID()}`);
    const results = await Promise.all(ids.map((id) => store.append(id, [{ type: 'A', data: 1 }])));
    expect(refusedGroup).toBeDefined();
    expect(results.every((r) => r.nextExpectedVersion === 1)).toBe(true);
    // After the refusal, each member of the refused group went alone: in a transaction that puts its events only.
    const refusedAt = sent.findIndex((tx) => tx.streams === refusedGroup);
    const after = sent.slice(refusedAt + 1);
    for (const id of refusedGroup!) {
      const own = after.filter((tx) => tx.streams.includes(id));
      expect(own, id).toHaveLength(1);
      expect(own[0]!.streams).toEqual([id]);
    }
    for (const id of ids) expect(await store.streamVersion(id)).toBe(1);
  });
});
