import { randomUUID } from 'node:crypto';
import { DeleteItemCommand, type DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createDynamoDBEventStore, type DynamoDBEventStore } from '../../../src/adapters/dynamodb/index.js';
import { streamKey } from '../../../src/adapters/dynamodb/items.js';
import { rawClient, tableName } from './support.js';

/**
 * DynamoDB Local killed with SIGKILL loses TransactWriteItems it acknowledged a few milliseconds before (seen in
 * test/adapters/dynamodb/fault-injection.test.ts: an append acknowledged at versions 2–3 just before the kill was
 * gone after the restart). The store remembers the events it wrote and skips the check of the previous event on the
 * next append; that must never turn such a loss into a gap in the stream's versions. Here the loss is made by
 * deleting the acknowledged events, and the restart by a client that fails with ECONNREFUSED, as a client does
 * while the server is down.
 */
const table = tableName('lost-ack');
const opened: Array<{ store: DynamoDBEventStore; client: DynamoDBClient }> = [];
const raw = rawClient();

afterAll(() => raw.destroy());

afterEach(async () => {
  for (const { store, client } of opened.splice(0)) {
    await store.close();
    client.destroy();
  }
});

type When = 'before' | 'after';

const refused = () => Object.assign(new Error('connect ECONNREFUSED (injected)'), { code: 'ECONNREFUSED' });
const timedOut = () =>
  Object.assign(new Error('request exceeded the requestTimeout (injected)'), {
    name: 'TimeoutError',
    code: 'ETIMEDOUT',
  });

/**
 * A store whose client fails the requests `fault` picks: 'before' sending (with `error`, ECONNREFUSED by default), or
 * 'after' (the answer lost).
 */
function open(fault: (command: string) => When | undefined, error: () => Error = refused) {
  const client = rawClient();
  const sent: string[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = String(context.commandName).replace(/Command$/, '');
      const when = fault(command);
      if (when === 'before') throw error();
      sent.push(command);
      const out = await next(args);
      if (when === 'after')
        throw Object.assign(new Error('socket hang up (injected)'), { code: 'ECONNRESET' });
      return out;
    },
    { step: 'initialize', name: 'injectFaults' },
  );
  const store = createDynamoDBEventStore({
    client,
    tableName: table,
    retry: { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 5 },
  });
  opened.push({ store, client });
  return { store, sent };
}

const events = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ type: 'E', data: { i }, id: randomUUID() }));

async function storedVersions(streamId: string): Promise<number[]> {
  const out = await raw.send(
    new QueryCommand({
      TableName: table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': { S: `STREAM#${streamId}` } },
      ConsistentRead: true,
    }),
  );
  return (out.Items ?? []).map((i) => Number(i.v?.N ?? i.sk!.S!.slice('VERSION#'.length)));
}

/** What DynamoDB Local does to an acknowledged transaction when it is killed right after: the events are gone. */
async function lose(streamId: string, versions: number[]): Promise<void> {
  for (const v of versions) {
    await raw.send(new DeleteItemCommand({ TableName: table, Key: streamKey(streamId, v) }));
  }
}

/** Versions 1 and 2–3 acknowledged, then 2–3 lost: the state the fault-injection failure started from. */
async function acknowledgedThenLost(store: DynamoDBEventStore, streamId: string): Promise<void> {
  await expect(store.append(streamId, events(1), { expectedVersion: 0 })).resolves.toMatchObject({
    nextExpectedVersion: 1,
  });
  await expect(store.append(streamId, events(2), { expectedVersion: 1 })).resolves.toMatchObject({
    nextExpectedVersion: 3,
  });
  await lose(streamId, [2, 3]);
  expect(await storedVersions(streamId)).toEqual([1]);
}

describe('DynamoDB adapter: acknowledged writes the backend lost', () => {
  it.each([
    ['a lost connection', refused, 'UNAVAILABLE'],
    ['a passed deadline', timedOut, 'TIMEOUT'],
  ])(
    'checks the previous event again once any request failed with %s, so no version gap opens',
    async (_, error, code) => {
      let down = false;
      const { store } = open(() => (down ? 'before' : undefined), error);
      const streamId = `lost-${randomUUID()}`;
      await acknowledgedThenLost(store, streamId);
      // The server restarts: this store finds out through another stream's append.
      down = true;
      await expect(store.append(`other-${randomUUID()}`, events(1))).rejects.toMatchObject({ code });
      down = false;
      await expect(store.append(streamId, events(3), { expectedVersion: 3 })).rejects.toMatchObject({
        code: 'WRONG_EXPECTED_VERSION',
        actualVersion: 1,
      });
      expect(await storedVersions(streamId)).toEqual([1]);
    },
  );

  it('does not resend a transaction that skipped the check after its connection failed: it checks the previous event', async () => {
    let refuse = 0;
    const { store } = open((command) =>
      command === 'TransactWriteItems' && refuse-- > 0 ? 'before' : undefined,
    );
    const streamId = `resend-${randomUUID()}`;
    await acknowledgedThenLost(store, streamId);
    // The append is planned while the store still trusts version 3; its first send finds the server down.
    refuse = 1;
    await expect(store.append(streamId, events(3), { expectedVersion: 3 })).rejects.toMatchObject({
      code: 'WRONG_EXPECTED_VERSION',
      actualVersion: 1,
    });
    expect(await storedVersions(streamId)).toEqual([1]);
  });

  it('still acknowledges once, at the stored versions and position, a commit whose answer was lost', async () => {
    let lostAnswers = 0;
    const { store, sent } = open((command) =>
      command === 'TransactWriteItems' && lostAnswers-- > 0 ? 'after' : undefined,
    );
    const streamId = `answer-${randomUUID()}`;
    await store.append(streamId, events(1), { expectedVersion: 0 });
    const batch = events(2);
    lostAnswers = 1;
    const before = sent.length;
    const r = await store.append(streamId, batch, { expectedVersion: 1 });
    expect(r.nextExpectedVersion).toBe(3);
    // The lost one, then one with the check that finds the events stored.
    expect(sent.slice(before).filter((c) => c === 'TransactWriteItems')).toHaveLength(2);
    const read = [];
    for await (const e of store.readStream(streamId)) read.push(e);
    expect(read.map((e) => [e.version, e.id])).toEqual([
      [1, read[0]!.id],
      [2, batch[0]!.id],
      [3, batch[1]!.id],
    ]);
    expect(r.lastPosition).toBe(read[2]!.position);
  });
});
