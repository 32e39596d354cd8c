import { randomUUID } from 'node:crypto';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { createDynamoDBEventStore, type DynamoDBEventStore } from '../../../src/adapters/dynamodb/index.js';
import type { RecordedEvent } from '../../../src/index.js';
import { rawClient, tableName } from './support.js';

const clients: ReturnType<typeof rawClient>[] = [];
const opened: DynamoDBEventStore[] = [];

afterAll(async () => {
  for (const s of opened) await s.close();
  for (const c of clients) c.destroy();
});

/**
 * A writer whose TransactWriteItems wait at `hold()` until `release()`: an append that has taken its positions
 * from the counter and not committed yet.
 */
function heldWriter(table: string) {
  const client = rawClient();
  clients.push(client);
  let gate: Promise<void> | undefined;
  let open: () => void = () => {};
  let entered: () => void = () => {};
  let reached = Promise.resolve();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'TransactWriteItemsCommand' && gate !== undefined) {
        entered();
        await gate;
      }
      return next(args);
    },
    { step: 'initialize', name: 'holdCommits' },
  );
  const store = createDynamoDBEventStore({ client, tableName: table });
  opened.push(store);
  return {
    store,
    /** Holds the next commits; resolves once one is held. */
    hold(): Promise<void> {
      gate = new Promise((resolve) => {
        open = resolve;
      });
      reached = new Promise((resolve) => {
        entered = resolve;
      });
      return reached;
    },
    release(): void {
      gate = undefined;
      open();
    },
  };
}

/** What a writer that crashed after taking positions leaves behind: positions handed out, never claimed. */
async function burnPositions(table: string, count: number): Promise<void> {
  const client = rawClient();
  await client.send(
    new UpdateItemCommand({
      TableName: table,
      Key: { pk: { S: 'COUNTER' }, sk: { S: 'POSITION' } },
      UpdateExpression: 'ADD h :n',
      ExpressionAttributeValues: { ':n': { N: String(count) } },
    }),
  );
  client.destroy();
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("DynamoDB adapter: subscribe from 'end'", () => {
  it('delivers an append that took its position before the subscription started and commits after it, and what readAll could not return yet behind it', async () => {
    const table = tableName('subend');
    const writer = heldWriter(table);
    const p = `e-${randomUUID()}/`;
    await writer.store.append(`${p}before`, [{ type: 'Before', data: 0 }]);
    // A second store on its own client, as another process would be; its hole timeout is far beyond this test,
    // so no reader fills the held append's positions.
    const client = rawClient();
    clients.push(client);
    const store = createDynamoDBEventStore({
      client,
      tableName: table,
      holeTimeoutMs: 600_000,
      holeWaitMs: 20,
    });
    opened.push(store);

    const held = writer.hold();
    const inFlight = writer.store.append(`${p}in-flight`, [{ type: 'InFlight', data: 1 }]);
    await held;
    // Committed before the subscription starts, but behind the held append's position: readAll cannot return it
    // yet, so 'end' starts before it and delivers it too.
    const behind = await store.append(`${p}behind`, [{ type: 'Behind', data: 1 }]);
    const seen: RecordedEvent[] = [];
    const sub = store.subscribe({
      from: 'end',
      filter: { streamPrefix: p },
      handler: (e) => void seen.push(e),
    });
    await sub.caughtUp;
    writer.release();
    const committed = await inFlight;
    await writer.store.append(`${p}after`, [{ type: 'After', data: 2 }]);
    await until(() => seen.length >= 3, 'the in-flight, the one behind it and the later event');
    await sub.stop();
    await sub.done;
    expect(seen.map((e) => e.type)).toEqual(['InFlight', 'Behind', 'After']);
    expect(seen[0]!.position).toBe(committed.lastPosition);
    expect(seen[1]!.position).toBe(behind.lastPosition);
  });

  it("starts past a crashed writer's hole that is older than the hole timeout, after the last event", async () => {
    const table = tableName('subend');
    const writer = heldWriter(table);
    const p = `e-${randomUUID()}/`;
    await writer.store.append(`${p}a`, [{ type: 'A', data: 0 }]);
    await burnPositions(table, 3);
    await writer.store.append(`${p}b`, [{ type: 'B', data: 1 }]);
    const client = rawClient();
    clients.push(client);
    const store = createDynamoDBEventStore({ client, tableName: table, holeTimeoutMs: 1, holeWaitMs: 20 });
    opened.push(store);
    // The hole's positions are older than the hole timeout once a millisecond has passed since 'B' was written.
    await new Promise((r) => setTimeout(r, 10));
    const seen: RecordedEvent[] = [];
    const sub = store.subscribe({
      from: 'end',
      filter: { streamPrefix: p },
      handler: (e) => void seen.push(e),
    });
    await sub.caughtUp;
    await writer.store.append(`${p}c`, [{ type: 'C', data: 2 }]);
    await until(() => seen.length >= 1, 'the new event');
    await sub.stop();
    await sub.done;
    expect(seen.map((e) => e.type)).toEqual(['C']);
  });
});
