/**
 * `npm run bench:dynamodb`: what an append and a read cost on the DynamoDB adapter, and how fast appends go on
 * DynamoDB Local beside the naive unconditional BatchWriteItem floor. A benchmark, not a test: it asserts nothing.
 *
 * Uses EVENTSTORE_TEST_DYNAMODB_ENDPOINT when set, otherwise starts DynamoDB Local itself. Throughput figures are
 * DynamoDB Local figures, on this machine: they compare designs, they say nothing of DynamoDB's own throughput.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDynamoDBEventStore } from '../../src/adapters/dynamodb/index.js';
import { appendClaimItem, eventItem } from '../../src/adapters/dynamodb/items.js';
import { prepareAppend } from '../../src/contract/index.js';
import { startDynamoDBLocal } from '../../test/support/dynamodb-local.js';
import { naiveFloor } from './floor.js';
import { itemSize, Meter, meter, wcu } from './metering.js';

const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 4_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
/** The store's maxConcurrentCommits; the adapter's default unless set. */
const MAX_COMMITS =
  process.env.BENCH_MAX_COMMITS === undefined ? undefined : Number(process.env.BENCH_MAX_COMMITS);
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 4_000);
const STREAMS = 200;
const data = {
  orderId: randomUUID(),
  lines: [{ sku: 'ABC-123', qty: 2, price: 19.99 }],
  note: 'x'.repeat(120),
};

const backend = await startDynamoDBLocal();
if (backend.url.startsWith('unavailable:')) throw new Error(backend.url.slice('unavailable:'.length));
const m = new Meter();
const client = new DynamoDBClient({
  endpoint: backend.url,
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  maxAttempts: 1,
});
meter(client, m);
const event = () => ({ type: 'OrderPlaced', data, id: randomUUID() });
const events = (n: number) => Array.from({ length: n }, event);

function serverCpuMs(): number | undefined {
  if (backend.pid === undefined) return undefined;
  try {
    const fields = readFileSync(`/proc/${backend.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in clock ticks of 10 ms
  } catch {
    return undefined;
  }
}

/**
 * A store that was busy gives up the positions it took ahead (a counter ADD before, a filler PutItem now) once it
 * goes idle. Waiting a moment keeps that filler out of the next phase's meter.
 */
const settle = () => new Promise((resolve) => setTimeout(resolve, 200));

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

function perOp(snapshot: ReturnType<Meter['snapshot']>, count: number) {
  return {
    requests: round2(snapshot.requests / count),
    writeUnits: round2(snapshot.writeUnits / count),
    readUnits: round2(snapshot.readUnits / count),
    capacityUnits: round2(snapshot.units / count),
    byOperation: Object.fromEntries(
      Object.entries(snapshot.byOperation).map(([k, v]) => [k, round2(v / count)]),
    ),
  };
}

async function main() {
  const table = `bench-${randomUUID().slice(0, 8)}`;
  const store = createDynamoDBEventStore({ client, tableName: table, maxConcurrentCommits: MAX_COMMITS });
  await store.streamVersion('warm-up'); // creates the table
  const results: Record<string, unknown> = {
    note: 'Throughput is measured on DynamoDB Local on this machine; it is not a DynamoDB figure.',
    maxConcurrentCommits: MAX_COMMITS ?? 'default',
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version },
    dynamodbLocal: backend.pid === undefined ? 'external endpoint' : 'started by the benchmark',
  };

  // Cost per append: requests and capacity units, exact expected version (the hot path) and 'any'.
  const appendCost: Record<string, unknown> = {};
  for (const size of [1, 10, store.capabilities.maxEventsPerAppend]) {
    for (const mode of ['exact', 'any'] as const) {
      const samples = size === 1 ? 40 : 15;
      const ids = Array.from({ length: samples }, () => `cost-${randomUUID()}`);
      for (const id of ids) await store.append(id, events(1)); // streams with one event: the version check applies
      await settle();
      m.reset();
      for (const id of ids) {
        await store.append(id, events(size), { expectedVersion: mode === 'exact' ? 1 : 'any' });
      }
      appendCost[`${size} events, ${mode}`] = perOp(m.snapshot(), samples);
    }
  }
  results.perAppendOnDynamoDBLocal = {
    note: 'Requests counted by the client; capacity as DynamoDB Local reports it (it does not sum a transaction per item, so its transaction figures are too low: see modelled).',
    ...appendCost,
  };
  results.perAppendModelled = modelledCosts(store.capabilities.maxEventsPerAppend);

  // Cost per 1,000 events read, in a table of their own so that readAll reads exactly these.
  const readTable = `bench-read-${randomUUID().slice(0, 8)}`;
  const readStore = createDynamoDBEventStore({ client, tableName: readTable });
  const readStreamId = `read-${randomUUID()}`;
  for (let v = 0; v < 1000; v += 50) await readStore.append(readStreamId, events(50));
  await settle();
  let read = 0;
  m.reset();
  for await (const _ of readStore.readAll({ maxCount: 1000 })) read++;
  const readAllCost = perOp(m.snapshot(), read / 1000);
  m.reset();
  read = 0;
  for await (const _ of readStore.readStream(readStreamId)) read++;
  results.per1000EventsRead = {
    readAll: readAllCost,
    readStream: perOp(m.snapshot(), read / 1000),
    events: read,
  };
  await readStore.close();

  // Throughput: single-event appends at concurrency 1 and 8 across 200 streams, interleaved with the floor.
  const naiveTable = `bench-naive-${randomUUID().slice(0, 8)}`;
  const naiveStore = createDynamoDBEventStore({ client, tableName: naiveTable });
  await naiveStore.streamVersion('warm-up');
  const prepared = prepareAppend('x', [event()], undefined, store.capabilities).events[0]!;
  const naive = naiveFloor(client, naiveTable, prepared);
  const versions = new Map<number, number>();
  const runId = randomUUID().slice(0, 8);
  const exact = async (stream: number) => {
    const v = versions.get(stream) ?? 0;
    const r = await store.append(`tp-${runId}-${epoch}-${stream}`, [event()], { expectedVersion: v });
    versions.set(stream, r.nextExpectedVersion);
  };
  let epoch = 0;
  const any = async (stream: number) => {
    await store.append(`tp-any-${runId}-${epoch}-${stream}`, [event()]);
  };
  const designs = { naive, exact, any };
  // DynamoDB Local is a JVM: the first seconds run interpreted. Warm every path up before measuring.
  for (const fn of Object.values(designs)) {
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        for (let k = 0; performance.now() - t0 < WARMUP_MS; k++) await fn((w + 8 * k) % STREAMS);
      }),
    );
  }
  versions.clear();
  epoch++;
  const samples: Record<string, number[]> = {};
  const detail: Record<string, unknown> = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const concurrency of [1, 8]) {
      for (const [name, fn] of Object.entries(designs)) {
        m.reset();
        const cpu0 = process.cpuUsage();
        const server0 = serverCpuMs();
        const t0 = performance.now();
        let done = 0;
        // Worker w owns the streams s with s % concurrency === w, so exact appends never race each other.
        const worker = async (w: number) => {
          for (let k = 0; performance.now() - t0 < ROUND_MS; k++) {
            const perWorker = Math.ceil(STREAMS / concurrency);
            const stream = (w + concurrency * (k % perWorker)) % STREAMS;
            await fn(stream);
            done++;
          }
        };
        await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
        const seconds = (performance.now() - t0) / 1000;
        const cpu = process.cpuUsage(cpu0);
        const server1 = serverCpuMs();
        const key = `${name} c=${concurrency}`;
        samples[key] = [...(samples[key] ?? []), done / seconds];
        if (round === ROUNDS - 1) {
          detail[key] = {
            ...perOp(m.snapshot(), done),
            clientCpuMsPerAppend: round2((cpu.user + cpu.system) / 1000 / done),
            serverCpuMsPerAppend:
              server0 === undefined || server1 === undefined ? null : round2((server1 - server0) / done),
          };
        }
        console.log(`round ${round + 1} ${key}: ${(done / seconds).toFixed(0)} appends/s`);
      }
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const throughput = Object.fromEntries(
    Object.entries(samples).map(([k, xs]) => [k, Math.round(median(xs))]),
  );
  const ratio = (a: string, b: string) => round2((throughput[a] ?? 0) / (throughput[b] ?? 1));
  results.throughputOnDynamoDBLocal = {
    unit: 'appends/s (median of rounds), single-event appends, 200 streams',
    roundMs: ROUND_MS,
    rounds: ROUNDS,
    medians: throughput,
    samples: Object.fromEntries(Object.entries(samples).map(([k, xs]) => [k, xs.map(Math.round)])),
    ratios: {
      'exact/naive c=1': ratio('exact c=1', 'naive c=1'),
      'exact/naive c=8': ratio('exact c=8', 'naive c=8'),
      'any/naive c=1': ratio('any c=1', 'naive c=1'),
      'any/naive c=8': ratio('any c=8', 'naive c=8'),
    },
    lastRound: detail,
  };
  await store.close();
  await naiveStore.close();
  writeFileSync(
    new URL('../results/dynamodb.json', import.meta.url),
    `${JSON.stringify(results, null, 2)}\n`,
  );
  console.log(JSON.stringify(results, null, 2));
}

/**
 * What an append costs on DynamoDB by its published rules, from the sizes of the items this adapter writes: a
 * standard write is 1 WCU per started KB, a transactional one 2; the `log` index adds 1 per KB of each event item.
 */
function modelledCosts(maxEvents: number) {
  const sample = prepareAppend('order-12345', [event()], undefined, {
    maxEventsPerAppend: 1,
    maxEventBytes: 1e9,
    maxEventTypeBytes: 1024,
    maxPosition: 2n ** 63n - 1n,
    maxAppendBytes: 1e9,
    idempotencyWindow: 1,
  }).events[0]!;
  const eventBytes = itemSize(eventItem('order-12345', 12, 123_456_789n, Date.now(), sample, 1_000_000n));
  const claimBytes = itemSize(
    appendClaimItem('order-12345', 12, 123_456_789n, 10, sample.id, Date.now(), 1_000_000n),
  );
  const out: Record<string, unknown> = { eventItemBytes: eventBytes, claimItemBytes: claimBytes };
  for (const n of [1, 10, maxEvents]) {
    const table = 2 * n * wcu(eventBytes) + 2 * wcu(claimBytes);
    const check = 2 * wcu(eventBytes);
    out[`${n} events`] = {
      counterWcu: 1,
      transactionWcu: table,
      logIndexWcu: n * wcu(eventBytes),
      totalWcuHotPath: 1 + table + n * wcu(eventBytes),
      extraWcuWhenBaseUnseen: check,
      note: 'counterWcu is shared by the appends one store allocates together; the base check applies when the store has not seen the stream end',
    };
  }
  return out;
}

try {
  await main();
} finally {
  client.destroy();
  await backend.stop();
}
