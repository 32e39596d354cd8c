import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { createDynamoDBEventStore, type DynamoDBEventStore } from '../../../src/adapters/dynamodb/index.js';
import { rawClient, tableName } from './support.js';

const table = tableName('read-all-costs');
const opened: Array<{ store: DynamoDBEventStore; client: DynamoDBClient }> = [];

afterAll(async () => {
  for (const { store, client } of opened) {
    await store.close();
    client.destroy();
  }
});

/** A store whose client counts the requests it sends, by command ("BatchGetItem", "GetItem", "Query"). */
function open() {
  const client = rawClient();
  const sent = new Map<string, number>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = (context.commandName ?? '?').replace(/Command$/, '');
      sent.set(name, (sent.get(name) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: 'countRequests' },
  );
  const store = createDynamoDBEventStore({ client, tableName: table });
  opened.push({ store, client });
  return { store, sent };
}

const events = (n: number) => Array.from({ length: n }, (_, i) => ({ type: 'Counted', data: { i } }));

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const e of source) out.push(e);
  return out;
}

describe('DynamoDB adapter: what readAll reads besides the log', () => {
  it("reads each stream's state once per call, and a delete before the next call hides its events", async () => {
    const { store, sent } = open();
    const prefix = `costs-${randomUUID()}/`;
    for (let round = 0; round < 8; round++) {
      for (const s of ['a', 'b', 'c']) await store.append(`${prefix}${s}`, events(50));
    }
    sent.clear();
    const all = await collect(store.readAll({ filter: { streamPrefix: prefix } }));
    expect(all).toHaveLength(1_200);
    // 1,200 events of 3 streams: one BatchGetItem of 3 state items, not one per 100 events.
    expect(sent.get('BatchGetItem')).toBe(1);

    await store.deleteStream(`${prefix}b`);
    const after = await collect(store.readAll({ filter: { streamPrefix: prefix } }));
    expect(after).toHaveLength(800);
    expect(after.some((e) => e.streamId === `${prefix}b`)).toBe(false);
  });

  it('reads the position counter only when the read reaches the end of the log', async () => {
    const { store, sent } = open();
    const id = `costs-${randomUUID()}`;
    for (let round = 0; round < 6; round++) await store.append(id, events(50));
    const last = (await collect(store.readStream(id))).at(-1)!.position;
    sent.clear();
    // A full page far from the end: the index and the state items, no counter.
    await expect(collect(store.readAll({ after: 0n, maxCount: 5 }))).resolves.toHaveLength(5);
    expect(sent.get('GetItem') ?? 0).toBe(0);
    // From near the end: the walk reaches the end of the log, and checks the counter once.
    sent.clear();
    const tail = await collect(store.readAll({ after: last - 10n }));
    expect(tail.map((e) => e.position)).toEqual(Array.from({ length: 10 }, (_, i) => last - 9n + BigInt(i)));
    expect(sent.get('GetItem')).toBe(1);
  });
});
