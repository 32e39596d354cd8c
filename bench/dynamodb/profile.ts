/**
 * `npx tsx bench/dynamodb/profile.ts`: where the time of a single-event append goes on DynamoDB Local, for the
 * adapter beside the naive floor. For each contender, alternating, it runs c=8 (PROFILE_C) single-event appends
 * across 200 streams and reports appends/s, requests per append, the mean latency of each request type as the
 * client sees it (send to answer, SDK serialisation included), how many requests were in flight on average, and
 * client and DynamoDB Local CPU per append.
 *
 * EVENTSTORE_TEST_DYNAMODB_ENDPOINT reuses a running DynamoDB Local. PROFILE_SECONDS, PROFILE_ROUNDS, PROFILE_C
 * tune the run. A diagnosis tool, not the benchmark: its figures are DynamoDB Local's, on this machine.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDynamoDBEventStore } from '../../src/adapters/dynamodb/index.js';
import { prepareAppend } from '../../src/contract/index.js';
import { startDynamoDBLocal } from '../../test/support/dynamodb-local.js';
import { naiveFloor } from './floor.js';

const SECONDS = Number(process.env.PROFILE_SECONDS ?? 3);
const ROUNDS = Number(process.env.PROFILE_ROUNDS ?? 3);
const C = Number(process.env.PROFILE_C ?? 8);
const STREAMS = 200;

const backend = await startDynamoDBLocal();
if (backend.url.startsWith('unavailable:')) throw new Error(backend.url.slice('unavailable:'.length));

/** Per command: count, summed latency; and the time-weighted number of requests in flight. */
class Timing {
  byOp: Record<string, { n: number; ms: number }> = {};
  #inFlight = 0;
  #since = performance.now();
  #area = 0;
  reset(): void {
    this.byOp = {};
    this.#area = 0;
    this.#since = performance.now();
  }
  #tick(): void {
    const now = performance.now();
    this.#area += this.#inFlight * (now - this.#since);
    this.#since = now;
  }
  start(): void {
    this.#tick();
    this.#inFlight++;
  }
  end(op: string, ms: number): void {
    this.#tick();
    this.#inFlight--;
    const o = this.byOp[op] ?? { n: 0, ms: 0 };
    o.n++;
    o.ms += ms;
    this.byOp[op] = o;
  }
  meanInFlight(elapsedMs: number): number {
    this.#tick();
    return this.#area / elapsedMs;
  }
}

const timing = new Timing();
const client = new DynamoDBClient({
  endpoint: backend.url,
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  maxAttempts: 1,
});
client.middlewareStack.add(
  (next, context) => async (args) => {
    const op = String(context.commandName ?? 'unknown').replace(/Command$/, '');
    const t0 = performance.now();
    timing.start();
    try {
      return await next(args);
    } finally {
      timing.end(op, performance.now() - t0);
    }
  },
  { step: 'initialize', name: 'profileTiming' },
);

function serverCpuMs(): number {
  if (backend.pid === undefined) return Number.NaN;
  const fields = readFileSync(`/proc/${backend.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

const data = {
  orderId: randomUUID(),
  lines: [{ sku: 'ABC-123', qty: 2, price: 19.99 }],
  note: 'x'.repeat(120),
};
const event = () => ({ type: 'OrderPlaced', data, id: randomUUID() });

async function main() {
  const table = `profile-${randomUUID().slice(0, 8)}`;
  const store = createDynamoDBEventStore({ client, tableName: table });
  await store.streamVersion('warm-up');
  const prepared = prepareAppend('x', [event()], undefined, store.capabilities).events[0]!;
  const runId = randomUUID().slice(0, 8);
  const versions = new Map<string, number>();
  const contenders: Record<string, (stream: number) => Promise<unknown>> = {
    naive: naiveFloor(client, table, prepared),
    exact: async (stream) => {
      const id = `exact-${runId}-${stream}`;
      const r = await store.append(id, [event()], { expectedVersion: versions.get(id) ?? 0 });
      versions.set(id, r.nextExpectedVersion);
    },
    any: (stream) => store.append(`any-${runId}-${stream}`, [event()]),
  };
  const run = async (fn: (stream: number) => Promise<unknown>, ms: number) => {
    const t0 = performance.now();
    let done = 0;
    await Promise.all(
      Array.from({ length: C }, async (_, w) => {
        for (let k = 0; performance.now() - t0 < ms; k++) {
          await fn((w + C * (k % Math.ceil(STREAMS / C))) % STREAMS);
          done++;
        }
      }),
    );
    return { done, ms: performance.now() - t0 };
  };
  for (const fn of Object.values(contenders)) await run(fn, 3_000); // warm the JVM up
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, fn] of Object.entries(contenders)) {
      timing.reset();
      const stats0 = store.stats;
      const cpu0 = process.cpuUsage();
      const s0 = serverCpuMs();
      const { done, ms } = await run(fn, SECONDS * 1000);
      const cpu = process.cpuUsage(cpu0);
      const s1 = serverCpuMs();
      const commits = store.stats.commits - stats0.commits;
      const ops = Object.entries(timing.byOp)
        .map(([op, o]) => `${op} ${(o.n / done).toFixed(2)}/append ${(o.ms / o.n).toFixed(2)} ms`)
        .join(', ');
      console.log(
        `${name.padEnd(6)} ${((done * 1000) / ms).toFixed(0).padStart(5)}/s` +
          `  group ${commits ? (done / commits).toFixed(2) : '-'}` +
          `  in flight ${timing.meanInFlight(ms).toFixed(2)}` +
          `  cpu client ${((cpu.user + cpu.system) / 1000 / done).toFixed(2)} + server ${((s1 - s0) / done).toFixed(2)} ms` +
          `  ${ops}`,
      );
    }
  }
  await store.close();
}

try {
  await main();
} finally {
  client.destroy();
  await backend.stop();
}
