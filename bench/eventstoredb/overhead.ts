/**
 * The EventStoreDB adapter's overhead over calling `@eventstore/db-client` directly, for append and readAll,
 * against the in-process emulator. It measures the adapter's own cost (validation, JSON handling, mapping,
 * position encoding), never EventStoreDB's speed: the emulator is not the server.
 *
 * Rounds interleave the two sides (client, adapter, client, adapter …) so drift (GC, JIT, the emulator's growing log)
 * hits both alike; the figure is the median over rounds of (adapter time / client time − 1).
 *
 * It also measures what `'any'` appends cost in each idempotency mode, side by side in the same rounds: the client's
 * own ANY append (the floor), the adapter's opt-in `'server'` mode, and the default `'adapter'` mode both warm (this
 * store wrote the stream last, so it decides from its stream heads without reading) and cold (another writer appended
 * in between, so every append reads the stream's tail first).
 *
 * Run: npm run bench:eventstoredb   (writes bench/results/eventstoredb.json)
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { EventStoreDBClient, FORWARDS, jsonEvent, START } from '@eventstore/db-client';
import { createEventStoreDBEventStore } from '../../src/adapters/eventstoredb/index.js';
import { startEsdbEmulator } from '../../test/support/esdb-emulator/index.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const APPENDS_PER_ROUND = 200;
const EVENTS_PER_APPEND = 5;
const READ_EVENTS = 5_000;

const payload = (i: number) => ({
  orderId: `o-${i}`,
  amount: i * 1.5,
  lines: [{ sku: 'a', qty: 2 }],
  note: 'ünï',
});

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function time(fn: () => Promise<void>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const emulator = await startEsdbEmulator();
const client = EventStoreDBClient.connectionString(emulator.url);
const store = createEventStoreDBEventStore(client);
const serverMode = createEventStoreDBEventStore(client, { idempotency: 'server' });
const otherWriter = createEventStoreDBEventStore(client);

// Both sides append the same shape: caller-supplied ids, an exact expected version, JSON data and metadata.
async function appendDirect(): Promise<void> {
  const stream = `direct-${randomUUID()}`;
  for (let k = 0; k < APPENDS_PER_ROUND; k++) {
    const batch = Array.from({ length: EVENTS_PER_APPEND }, (_, i) =>
      jsonEvent({ id: randomUUID(), type: 'OrderPlaced', data: payload(i), metadata: { by: 'bench' } }),
    );
    await client.appendToStream(stream, batch, {
      expectedRevision: k === 0 ? 'no_stream' : BigInt(k * EVENTS_PER_APPEND - 1),
    });
  }
}

async function appendAdapter(): Promise<void> {
  const stream = `adapter-${randomUUID()}`;
  for (let k = 0; k < APPENDS_PER_ROUND; k++) {
    const batch = Array.from({ length: EVENTS_PER_APPEND }, (_, i) => ({
      id: randomUUID(),
      type: 'OrderPlaced',
      data: payload(i),
      metadata: { by: 'bench' },
    }));
    await store.append(stream, batch, { expectedVersion: k * EVENTS_PER_APPEND });
  }
}

const ANY_APPENDS = 100;
const anyBatch = () =>
  Array.from({ length: EVENTS_PER_APPEND }, (_, i) => ({
    id: randomUUID(),
    type: 'OrderPlaced',
    data: payload(i),
    metadata: { by: 'bench' },
  }));

async function anyDirect(): Promise<void> {
  const stream = `any-direct-${randomUUID()}`;
  for (let k = 0; k < ANY_APPENDS; k++) {
    const batch = anyBatch().map((e) => jsonEvent(e));
    await client.appendToStream(stream, batch);
  }
}

async function anyServerMode(): Promise<void> {
  const stream = `any-server-${randomUUID()}`;
  for (let k = 0; k < ANY_APPENDS; k++) await serverMode.append(stream, anyBatch());
}

async function anyAdapterWarm(): Promise<void> {
  const stream = `any-warm-${randomUUID()}`;
  for (let k = 0; k < ANY_APPENDS; k++) await store.append(stream, anyBatch());
}

/** Two stores take turns on one stream: each finds its stream head stale and reads the tail first. */
async function anyAdapterCold(): Promise<void> {
  const stream = `any-cold-${randomUUID()}`;
  for (let k = 0; k < ANY_APPENDS; k++) await (k % 2 ? otherWriter : store).append(stream, anyBatch());
}

// Reads the first READ_EVENTS events of $all, converting each to the caller's shape on both sides.
async function readDirect(): Promise<void> {
  let n = 0;
  const read = client.readAll({ fromPosition: START, direction: FORWARDS, maxCount: READ_EVENTS + 3 });
  for await (const e of read) {
    const ev = e.event!;
    if (ev.streamId.startsWith('$') || ev.type.startsWith('$')) continue;
    if (ev.data === undefined || ev.position === undefined) throw new Error('unexpected');
    if (++n >= READ_EVENTS) break;
  }
  await read.cancel();
}

async function readAdapter(): Promise<void> {
  let n = 0;
  for await (const e of store.readAll({ maxCount: READ_EVENTS })) {
    if (e.data === undefined) throw new Error('unexpected');
    n++;
  }
  if (n !== READ_EVENTS) throw new Error(`read ${n}`);
}

// Warm up both paths (JIT, connection, server features probe), and fill $all for the reads.
for (let k = 0; k < 6; k++) {
  await appendDirect();
  await appendAdapter();
}
await readDirect();
await readAdapter();
for (const warm of [anyDirect, anyServerMode, anyAdapterWarm, anyAdapterCold]) await warm();

const results: Record<string, { clientMs: number[]; adapterMs: number[]; overhead: number[] }> = {
  append: { clientMs: [], adapterMs: [], overhead: [] },
  readAll: { clientMs: [], adapterMs: [], overhead: [] },
};
for (let r = 0; r < ROUNDS; r++) {
  const pairs: Array<[keyof typeof results, () => Promise<void>, () => Promise<void>]> = [
    ['append', appendDirect, appendAdapter],
    ['readAll', readDirect, readAdapter],
  ];
  for (const [name, direct, adapter] of pairs) {
    // Alternate which side goes first, so neither always runs on a warmer or bigger emulator.
    let directMs: number;
    let adapterMs: number;
    if (r % 2 === 0) {
      directMs = await time(direct);
      adapterMs = await time(adapter);
    } else {
      adapterMs = await time(adapter);
      directMs = await time(direct);
    }
    const res = results[name]!;
    res.clientMs.push(directMs);
    res.adapterMs.push(adapterMs);
    res.overhead.push(adapterMs / directMs - 1);
  }
}

const anyModes = {
  client: [] as number[],
  server: [] as number[],
  adapterWarm: [] as number[],
  adapterCold: [] as number[],
};
for (let r = 0; r < ROUNDS; r++) {
  const sides: Array<[keyof typeof anyModes, () => Promise<void>]> = [
    ['client', anyDirect],
    ['server', anyServerMode],
    ['adapterWarm', anyAdapterWarm],
    ['adapterCold', anyAdapterCold],
  ];
  // Rotate the order each round so no side always runs first.
  for (let k = 0; k < sides.length; k++) {
    const [name, fn] = sides[(k + r) % sides.length]!;
    anyModes[name].push(await time(fn));
  }
}

await Promise.all([store.close(), serverMode.close(), otherWriter.close()]);
await client.dispose();
await emulator.stop();

const summary = Object.fromEntries(
  Object.entries(results).map(([name, r]) => [
    name,
    {
      medianClientMs: Number(median(r.clientMs).toFixed(2)),
      medianAdapterMs: Number(median(r.adapterMs).toFixed(2)),
      medianOverheadPercent: Number((median(r.overhead) * 100).toFixed(1)),
    },
  ]),
);
const report = {
  what: 'eventstore-kit EventStoreDB adapter overhead over @eventstore/db-client, against the in-process emulator. Adapter overhead only: not an EventStoreDB performance figure.',
  target: 'adapter overhead <= 10%',
  node: process.version,
  date: new Date().toISOString(),
  rounds: ROUNDS,
  append: { appendsPerRound: APPENDS_PER_ROUND, eventsPerAppend: EVENTS_PER_APPEND, ...summary.append },
  readAll: { eventsPerRound: READ_EVENTS, ...summary.readAll },
  appendAny: {
    what: "'any' appends of 5 events with caller ids, one stream per round; time per round and ratio to the client's own ANY append",
    appendsPerRound: ANY_APPENDS,
    ...Object.fromEntries(
      Object.entries(anyModes).map(([name, ms]) => [
        name,
        {
          medianMs: Number(median(ms).toFixed(2)),
          medianRatioToClient: Number(median(ms.map((m, i) => m / anyModes.client[i]!)).toFixed(2)),
        },
      ]),
    ),
  },
};
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/eventstoredb.json', `${JSON.stringify(report, null, 2)}\n`);
console.log(JSON.stringify(report, null, 2));
