/**
 * `npm run bench:snapshots`: how long `handleCommand` takes to load the state of a 10,000-event stream, folding every
 * event beside starting from a snapshot taken every 100 events, on PostgreSQL (embedded server, unless
 * EVENTSTORE_TEST_POSTGRES_URL is set) and on DynamoDB Local (unless EVENTSTORE_TEST_DYNAMODB_ENDPOINT is set). A
 * benchmark, not a test: it asserts nothing but that every load reaches the same state.
 *
 * Per backend, three streams hold the same 10,000 events: one without a snapshot, one whose snapshot is at 10,000
 * (the stream just snapshotted: nothing to read after it) and one whose snapshot is at 9,901 (99 events after it, the
 * most a stream snapshotted every 100 events ever has). Each round loads each stream once, in rotating order; the
 * figures are medians, and the speed-up is the median of the per-round ratios. Writes bench/results/snapshots.json.
 *
 * BENCH_ROUNDS (default 15) tunes the run.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import pg from 'pg';
import { createDynamoDBEventStore } from '../../src/adapters/dynamodb/index.js';
import { createPostgresEventStore } from '../../src/adapters/postgres/index.js';
import { type Decider, type EventStore, handleCommand, type NewEvent } from '../../src/index.js';
import { startDynamoDBLocal } from '../../test/support/dynamodb-local.js';
import { startPostgres } from '../../test/support/postgres-server.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const EVENTS = 10_000;
const EVERY = 100;

interface Account {
  balance: number;
  count: number;
}
type Posted = { type: 'Posted'; data: { amount: number; ref: string; memo: string } };

/** Loads the state and decides nothing: the command costs exactly its load. */
const account: Decider<Account, 'peek', Posted> = {
  initialState: () => ({ balance: 0, count: 0 }),
  evolve: (s, e) => ({ balance: s.balance + e.data.amount, count: s.count + 1 }),
  decide: () => [],
};

function posted(i: number): NewEvent {
  return {
    type: 'Posted',
    data: { amount: (i % 7) - 3, ref: randomUUID(), memo: `posting ${i} of the benchmark` },
  };
}

function fold(events: readonly NewEvent[]): Account {
  return events.reduce((s, e) => account.evolve(s, e as Posted), account.initialState());
}

interface Prepared {
  full: string;
  at10000: string;
  at9901: string;
  expected: Account;
}

/** Three streams of the same events; snapshots as `handleCommand` with `every: 100` would leave them. */
async function prepare(store: EventStore, batch: number): Promise<Prepared> {
  const run = randomUUID().slice(0, 8);
  const streams = { full: `full-${run}`, at10000: `at10000-${run}`, at9901: `at9901-${run}` };
  const events = Array.from({ length: EVENTS }, (_, i) => posted(i));
  for (const id of Object.values(streams)) {
    for (let v = 0; v < EVENTS; v += batch) {
      await store.append(id, events.slice(v, v + batch), { expectedVersion: v });
    }
  }
  const expected = fold(events);
  const at = (n: number) => ({ state: { ...fold(events.slice(0, n)) }, version: n, schemaVersion: 1 });
  await store.snapshots.save(streams.at10000, at(EVENTS));
  await store.snapshots.save(streams.at9901, at(EVENTS - EVERY + 1));
  return { ...streams, expected };
}

async function load(store: EventStore, id: string, snapshots: boolean, expected: Account): Promise<number> {
  const t0 = performance.now();
  const result = await handleCommand(store, id, 'peek', account, {
    ...(snapshots ? { snapshots: { schemaVersion: 1, every: EVERY } } : {}),
  });
  const ms = performance.now() - t0;
  if (result.state.balance !== expected.balance || result.nextExpectedVersion !== EVENTS) {
    throw new Error(`Stream ${id} loaded a wrong state: ${JSON.stringify(result.state)}`);
  }
  return ms;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

async function measure(name: string, store: EventStore, batch: number) {
  const p = await prepare(store, batch);
  const cases = {
    'whole stream (no snapshot)': () => load(store, p.full, false, p.expected),
    'snapshot at 10,000 (0 events after)': () => load(store, p.at10000, true, p.expected),
    'snapshot at 9,901 (99 events after)': () => load(store, p.at9901, true, p.expected),
  };
  const names = Object.keys(cases) as Array<keyof typeof cases>;
  for (const n of names) await cases[n](); // warm-up
  const ms: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (let k = 0; k < names.length; k++) {
      const n = names[(k + r) % names.length]!;
      ms[n]!.push(await cases[n]());
    }
  }
  const whole = ms[names[0]!]!;
  const out: Record<string, unknown> = {};
  for (const n of names) {
    out[n] = {
      medianMs: round2(median(ms[n]!)),
      speedUp: round2(median(whole.map((w, r) => w / ms[n]![r]!))),
      roundsMs: ms[n]!.map(round2),
    };
  }
  console.log(`\n${name}`);
  for (const n of names) {
    const o = out[n] as { medianMs: number; speedUp: number };
    console.log(`  ${n.padEnd(38)} ${String(o.medianMs).padStart(9)} ms   ${o.speedUp}×`);
  }
  return out;
}

async function postgres(): Promise<unknown> {
  const server = await startPostgres();
  const pool = new pg.Pool({ connectionString: server.url, max: 4 });
  // An idle connection the server ends (on stop) must not end the benchmark with an unhandled 'error'.
  pool.on('error', () => {});
  try {
    const schema = `bench_snapshots_${randomUUID().slice(0, 8)}`;
    const store = await createPostgresEventStore(pool, { schema });
    try {
      const { rows } = await pool.query('SELECT version() AS version');
      return { server: rows[0].version, ...(await measure('PostgreSQL', store, 1_000)) };
    } finally {
      await store.close();
      await pool.query(`DROP SCHEMA ${schema} CASCADE`);
    }
  } finally {
    await pool.end();
    await server.stop();
  }
}

async function dynamodb(): Promise<unknown> {
  const backend = await startDynamoDBLocal();
  if (backend.url.startsWith('unavailable:')) throw new Error(backend.url.slice('unavailable:'.length));
  const client = new DynamoDBClient({
    endpoint: backend.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    const store = createDynamoDBEventStore({
      client,
      tableName: `bench-snapshots-${randomUUID().slice(0, 8)}`,
    });
    try {
      return {
        note: 'DynamoDB Local on this machine: the ratio compares designs, the times are not DynamoDB figures.',
        ...(await measure('DynamoDB Local', store, store.capabilities.maxEventsPerAppend)),
      };
    } finally {
      await store.close();
    }
  } finally {
    client.destroy();
    await backend.stop();
  }
}

async function main(): Promise<void> {
  console.log(
    `Loading a ${EVENTS}-event stream, snapshots every ${EVERY}: ${ROUNDS} rounds, ${cpus().length} CPUs`,
  );
  const results = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version },
    rounds: ROUNDS,
    postgres: await postgres(),
    dynamodb: await dynamodb(),
  };
  await mkdir(new URL('../results/', import.meta.url), { recursive: true });
  await writeFile(
    new URL('../results/snapshots.json', import.meta.url),
    `${JSON.stringify(results, null, 2)}\n`,
  );
}

await main();
