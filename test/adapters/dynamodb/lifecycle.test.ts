import { randomUUID } from 'node:crypto';
import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { createDynamoDBEventStore, type DynamoDBEventStore } from '../../../src/adapters/dynamodb/index.js';
import type { EventStore, RecordedEvent } from '../../../src/index.js';
import { rawClient, tableName } from './support.js';

const table = tableName('lifecycle');
const raw = rawClient();
const opened: Array<{ store: EventStore; client: DynamoDBClient }> = [];

afterAll(async () => {
  for (const { store, client } of opened) {
    await store.close();
    client.destroy();
  }
  raw.destroy();
});

/**
 * A store on a client of its own. Once `armed`, every write request (BatchWriteItem, TransactWriteItems, PutItem,
 * UpdateItem, DeleteItem) counts, and the one after `failAfter` writes and all later ones throw, as if the process
 * had lost DynamoDB mid-call (an error the adapter does not retry).
 */
function open(options: { failAfter?: number } = {}) {
  const client = rawClient();
  const faults = { armed: false, writes: 0, failed: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const write = /^(BatchWriteItem|TransactWriteItems|PutItem|UpdateItem|DeleteItem)Command$/.test(
        context.commandName ?? '',
      );
      if (faults.armed && write && options.failAfter !== undefined) {
        if (faults.writes >= options.failAfter) {
          faults.failed++;
          throw Object.assign(new Error('injected: connection lost'), {
            name: 'AccessDeniedException',
            $metadata: { httpStatusCode: 400 },
          });
        }
        faults.writes++;
      }
      return next(args);
    },
    { step: 'initialize', name: 'injectFaults' },
  );
  const store = createDynamoDBEventStore({ client, tableName: table, holeWaitMs: 100 });
  opened.push({ store, client });
  return { store, faults };
}

const events = (n: number, tag = 'e') =>
  Array.from({ length: n }, (_, i) => ({ type: 'Happened', data: { tag, i, secret: `pii-${tag}-${i}` } }));

async function collect(it: AsyncIterable<RecordedEvent>): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
}

/** Every item of the stream's partition, read raw and strongly consistently. */
async function partition(streamId: string): Promise<Record<string, AttributeValue>[]> {
  const items: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const out = await raw.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: `STREAM#${streamId}` } },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}

/** The `log` index's items at the given positions (eventually consistent, as readAll reads it). */
async function indexed(positions: bigint[]): Promise<Record<string, AttributeValue>[]> {
  const sorted = [...positions].sort((a, b) => (a < b ? -1 : 1));
  const lo = sorted[0]!;
  const hi = sorted.at(-1)!;
  const out = await raw.send(
    new QueryCommand({
      TableName: table,
      IndexName: 'log',
      KeyConditionExpression: 'lb = :b AND p BETWEEN :lo AND :hi',
      ExpressionAttributeValues: { ':b': { S: 'LOG#0' }, ':lo': { N: String(lo) }, ':hi': { N: String(hi) } },
    }),
  );
  return (out.Items ?? []).filter((i) => positions.includes(BigInt(i.p!.N!)));
}

const versionKey = (v: number) => `VERSION#${String(v).padStart(20, '0')}`;
const PAYLOAD = ['id', 't', 'd', 'm'];

async function getItem(pk: string, sk: string) {
  const out = await raw.send(
    new GetItemCommand({ TableName: table, Key: { pk: { S: pk }, sk: { S: sk } }, ConsistentRead: true }),
  );
  return out.Item;
}

/** Asserts that no path returns the data of versions `1 .. upTo` of the stream, raw items and index included. */
async function expectErased(store: EventStore, streamId: string, written: RecordedEvent[], upTo: number) {
  const gone = written.filter((e) => e.version <= upTo);
  const items = await partition(streamId);
  for (const e of gone) {
    const item = items.find((i) => i.sk!.S === versionKey(e.version));
    // The key stays as a stub: no id, type, data or metadata.
    expect(item, `version ${e.version}`).toBeDefined();
    for (const name of PAYLOAD) expect(item![name], `version ${e.version} .${name}`).toBeUndefined();
    expect(item!.k!.S).toBe('R');
  }
  // What still holds data is above `upTo`.
  expect(items.filter((i) => i.d !== undefined && Number(i.v!.N) <= upTo)).toEqual([]);
  for (const i of await indexed(gone.map((e) => e.position))) {
    for (const name of PAYLOAD) expect(i[name]).toBeUndefined();
  }
  const all = await collect(store.readAll({ after: gone[0]!.position - 1n }));
  expect(all.filter((e) => e.streamId === streamId && e.version <= upTo)).toEqual([]);
}

describe('DynamoDB adapter: the stream lifecycle', () => {
  it('hard delete: fence, tombstone, and every event erased from the items and the index', async () => {
    const { store } = open();
    const id = `hard-${randomUUID()}`;
    await store.append(id, events(5, id));
    const written = await collect(store.readStream(id));
    await expect(store.deleteStream(id, { hard: true, expectedVersion: 5 })).resolves.toEqual({ version: 5 });
    await expectErased(store, id, written, 5);
    await expect(collect(store.readStream(id))).rejects.toMatchObject({ code: 'STREAM_DELETED' });
    const fence = await getItem(`STREAM#${id}`, versionKey(6));
    expect(fence?.k?.S).toBe('T');
    const state = await getItem(`STREAM#${id}`, 'VERSION~');
    expect(state?.st?.N).toBe('2');
    expect(state?.ed?.N).toBe('6');
    // Nothing is left for enforceRetention to do.
    expect(await getItem('RETENTION', `STREAM#${id}`)).toBeUndefined();
  });

  it('soft delete, truncation and retention erase what they remove, and readAll goes past the stubs', async () => {
    const { store } = open();
    const soft = `soft-${randomUUID()}`;
    const cut = `cut-${randomUUID()}`;
    const kept = `kept-${randomUUID()}`;
    await store.append(soft, events(3, soft));
    await store.append(cut, events(4, cut));
    await store.append(kept, events(4, kept));
    const [s, c, k] = await Promise.all([soft, cut, kept].map((x) => collect(store.readStream(x))));
    await store.deleteStream(soft);
    await store.truncateStream(cut, { before: 3 });
    await store.setStreamMetadata(kept, { maxCount: 1 });
    await store.enforceRetention();
    await expectErased(store, soft, s!, 3);
    await expectErased(store, cut, c!, 2);
    await expectErased(store, kept, k!, 3);
    // readAll from before the first erased position returns the survivors in one call: no wait on the stubs.
    const after = s![0]!.position - 1n;
    const all = await collect(store.readAll({ after }));
    expect(
      all.filter((e) => [soft, cut, kept].includes(e.streamId)).map((e) => [e.streamId, e.version]),
    ).toEqual([
      [cut, 3],
      [cut, 4],
      [kept, 4],
    ]);
    expect(await getItem('RETENTION', `STREAM#${cut}`)).toBeUndefined();
    expect(await getItem('RETENTION', `STREAM#${kept}`)).toBeDefined();
  });

  it('a wrong expected version deletes nothing and writes no state', async () => {
    const { store } = open();
    const id = `wrong-${randomUUID()}`;
    await store.append(id, events(3, id));
    const before = await partition(id);
    for (const hard of [false, true]) {
      await expect(store.deleteStream(id, { expectedVersion: 2, hard })).rejects.toMatchObject({
        code: 'WRONG_EXPECTED_VERSION',
      });
      await expect(store.truncateStream(id, { before: 2, expectedVersion: 4 })).rejects.toMatchObject({
        code: 'WRONG_EXPECTED_VERSION',
      });
    }
    expect(await partition(id)).toEqual(before);
    expect(await getItem('RETENTION', `STREAM#${id}`)).toBeUndefined();
  });

  for (const rerun of ['deleteStream', 'enforceRetention'] as const) {
    it(`a failure mid-erasure leaves the stream deleted and a prefix erased; ${rerun} finishes it`, async () => {
      const { store: faulty, faults } = open({ failAfter: 2 });
      const { store } = open();
      const id = `crash-${rerun}-${randomUUID()}`;
      for (let i = 0; i < 3; i++) await store.append(id, events(80, `${id}-${i}`));
      const written = await collect(store.readStream(id));
      faults.armed = true;
      // Writes: the state transaction, the first BatchWriteItem of 25 stubs; the round's other three fail.
      await expect(faulty.deleteStream(id, { hard: true, expectedVersion: 240 })).rejects.toMatchObject({
        code: 'UNAUTHORIZED',
        streamId: id,
        message: expect.stringContaining('took effect and its events are hidden'),
      });
      expect(faults.failed).toBe(3);
      // Deleted as a whole for every reader, though its data is only partly erased.
      await expect(collect(store.readStream(id))).rejects.toMatchObject({ code: 'STREAM_DELETED' });
      await expect(store.append(id, events(1))).rejects.toMatchObject({ code: 'STREAM_DELETED' });
      const all = await collect(store.readAll({ after: written[0]!.position - 1n }));
      expect(all.filter((e) => e.streamId === id)).toEqual([]);
      const items = await partition(id);
      const stubs = items.filter((i) => i.k?.S === 'R').map((i) => Number(i.v!.N));
      const live = items.filter((i) => i.d !== undefined).map((i) => Number(i.v!.N));
      expect(stubs).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
      expect(live).toEqual(Array.from({ length: 215 }, (_, i) => i + 26));
      // The marker is behind what was erased, never ahead of it, and the stream awaits enforceRetention.
      expect(Number((await getItem(`STREAM#${id}`, 'VERSION~'))!.ed!.N)).toBeLessThanOrEqual(26);
      expect(await getItem('RETENTION', `STREAM#${id}`)).toBeDefined();

      if (rerun === 'deleteStream') {
        await expect(store.deleteStream(id, { hard: true })).resolves.toEqual({ version: 240 });
      } else {
        const { removedEvents } = await store.enforceRetention();
        expect(removedEvents).toBeGreaterThanOrEqual(215);
      }
      await expectErased(store, id, written, 240);
      const state = await getItem(`STREAM#${id}`, 'VERSION~');
      expect(state!.ed!.N).toBe('241');
      if (rerun === 'enforceRetention') expect(await getItem('RETENTION', `STREAM#${id}`)).toBeUndefined();
    });
  }

  it('an append racing a hard delete lands before the tombstone or fails STREAM_DELETED, never after it', async () => {
    const a = open().store;
    const b = open().store as DynamoDBEventStore;
    for (let round = 0; round < 8; round++) {
      const id = `race-${round}-${randomUUID()}`;
      await a.append(id, events(2, id));
      // Store b has seen the stream's end, so its exact append skips the base check: only the fence can stop it.
      await b.append(id, events(1, `${id}-b`), { expectedVersion: 2 });
      const [appended, deleted] = await Promise.allSettled([
        b.append(id, events(1, `${id}-late`), { expectedVersion: 3 }),
        a.deleteStream(id, { hard: true }),
      ]);
      expect(deleted.status).toBe('fulfilled');
      const version = (deleted as PromiseFulfilledResult<{ version: number }>).value.version;
      if (appended.status === 'fulfilled') {
        expect(appended.value.nextExpectedVersion).toBe(4);
        expect(version).toBe(4);
      } else {
        expect(appended.reason).toMatchObject({ code: 'STREAM_DELETED' });
        expect(version).toBe(3);
      }
      // Whatever the order, every later append fails and nothing readable is left.
      for (const expectedVersion of [version, 'any', 'no_stream'] as const) {
        await expect(b.append(id, events(1), { expectedVersion })).rejects.toMatchObject({
          code: 'STREAM_DELETED',
        });
      }
      const items = await partition(id);
      expect(items.filter((i) => i.d !== undefined)).toEqual([]);
      expect(items.filter((i) => i.k?.S === 'T').map((i) => i.sk!.S)).toEqual([versionKey(version + 1)]);
    }
  });
});
