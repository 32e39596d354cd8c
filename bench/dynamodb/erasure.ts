/**
 * Erasure speed on DynamoDB Local: events erased per second by a hard delete (the adapter's resumable erasure: a
 * Query of 100 keys, four concurrent BatchWriteItem requests of 25 stubs, a marker update), side by side with the
 * floor, a raw loop of BatchWriteItem requests of 25 DeleteRequests over keys known in advance. Rounds alternate
 * which goes first. Writes bench/results/dynamodb-erasure.json.
 *
 *   npx tsx bench/dynamodb/erasure.ts      (BENCH_EVENTS=1000 BENCH_ROUNDS=5; one warm-up round, not recorded)
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { BatchWriteItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDynamoDBEventStore } from '../../src/adapters/dynamodb/index.js';
import { streamKey } from '../../src/adapters/dynamodb/items.js';
import { startDynamoDBLocal } from '../../test/support/dynamodb-local.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const data = { orderId: randomUUID(), note: 'x'.repeat(160) };

const backend = await startDynamoDBLocal();
if (backend.url.startsWith('unavailable:')) throw new Error(backend.url.slice('unavailable:'.length));
const client = new DynamoDBClient({
  endpoint: backend.url,
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  maxAttempts: 1,
});
const table = `bench-erasure-${randomUUID().slice(0, 8)}`;
const store = createDynamoDBEventStore({ client, tableName: table });

async function fill(streamId: string): Promise<void> {
  for (let written = 0; written < EVENTS; written += 98) {
    const n = Math.min(98, EVENTS - written);
    const batch = Array.from({ length: n }, () => ({ type: 'OrderPlaced', data, id: randomUUID() }));
    await store.append(streamId, batch, { expectedVersion: written });
  }
}

async function adapter(streamId: string): Promise<number> {
  const t0 = performance.now();
  await store.deleteStream(streamId, { hard: true, expectedVersion: EVENTS });
  return performance.now() - t0;
}

async function floor(streamId: string): Promise<number> {
  const t0 = performance.now();
  for (let v = 1; v <= EVENTS; v += 25) {
    const keys = Array.from({ length: Math.min(25, EVENTS - v + 1) }, (_, i) => streamKey(streamId, v + i));
    let requests = keys.map((Key) => ({ DeleteRequest: { Key } }));
    while (requests.length > 0) {
      const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [table]: requests } }));
      requests = (out.UnprocessedItems?.[table] ?? []) as typeof requests;
    }
  }
  return performance.now() - t0;
}

const rounds: Array<{ round: number; first: string; adapterPerSec: number; floorPerSec: number }> = [];
try {
  // Warm-up: DynamoDB Local's JIT and the table's first writes, measured by neither side.
  const warm = [`warm-a-${randomUUID()}`, `warm-f-${randomUUID()}`] as const;
  await fill(warm[0]);
  await fill(warm[1]);
  await adapter(warm[0]);
  await floor(warm[1]);
  for (let round = 0; round < ROUNDS; round++) {
    const a = `erase-a-${round}-${randomUUID()}`;
    const f = `erase-f-${round}-${randomUUID()}`;
    await fill(a);
    await fill(f);
    const adapterFirst = round % 2 === 0;
    let adapterMs: number;
    let floorMs: number;
    if (adapterFirst) {
      adapterMs = await adapter(a);
      floorMs = await floor(f);
    } else {
      floorMs = await floor(f);
      adapterMs = await adapter(a);
    }
    const r = {
      round,
      first: adapterFirst ? 'adapter' : 'floor',
      adapterPerSec: Math.round((EVENTS * 1000) / adapterMs),
      floorPerSec: Math.round((EVENTS * 1000) / floorMs),
    };
    rounds.push(r);
    console.log(JSON.stringify(r));
  }
} finally {
  await store.close();
  client.destroy();
  await backend.stop();
}

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
const summary = {
  what: 'events erased per second: hard delete of one stream vs a raw BatchWriteItem DeleteRequest loop',
  events: EVENTS,
  adapterPerSecMedian: median(rounds.map((r) => r.adapterPerSec)),
  floorPerSecMedian: median(rounds.map((r) => r.floorPerSec)),
  ratioMedian: Number(median(rounds.map((r) => r.adapterPerSec / r.floorPerSec)).toFixed(2)),
  rounds,
  when: new Date().toISOString(),
};
console.log(JSON.stringify(summary, null, 2));
writeFileSync(
  new URL('../results/dynamodb-erasure.json', import.meta.url),
  `${JSON.stringify(summary, null, 2)}\n`,
);
