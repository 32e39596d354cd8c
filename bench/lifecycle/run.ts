/**
 * `npm run bench:lifecycle`: what the stream lifecycle costs on the PostgreSQL server (embedded, default durable
 * settings, unless EVENTSTORE_TEST_POSTGRES_URL is set), side by side in one run, in interleaved rounds:
 *
 * 1. Single-event appends at concurrency 8 (200 streams) while `enforceRetention()` removes 100k events that
 *    `maxCount` hides, beside the same appends while a raw floor deletes the same 100k rows with plain range DELETEs
 *    (1,000 a statement, as the sweep), and beside no removal at all: throughput and latency.
 * 2. `readStream` of a 10-event stream (one call at a time) against a raw floor of one SELECT, and against the same
 *    floor with the extra state query the lifecycle adds; the readers take turns call by call.
 * 3. `readAll` over 100k events with no stream_metadata rows and with a row for every stream (hiding nothing),
 *    against a raw floor: the kit's readAll query without the retention filter, parsed the same way, and the same
 *    floor with the filter (with and without metadata rows); the readers take turns 10k events at a time.
 *
 * BENCH_ROUNDS (default 3) and BENCH_SECONDS (how long the no-sweep arm appends, default 4) tune the run. Writes
 * bench/results/lifecycle.json.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import pg from 'pg';
import { createPostgresEventStore, type PostgresEventStore } from '../../src/adapters/postgres/index.js';
import { retentionFilter } from '../../src/adapters/postgres/lifecycle.js';
import { startPostgres } from '../../test/support/postgres-server.js';
import { benchEvent } from '../postgres/contenders.js';
import { median, throughput } from '../postgres/measure.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SWEEP_EVENTS = 100_000;
const VICTIMS = 10;
const STREAMS = Array.from({ length: 200 }, (_, i) => `bench-${i}`);
const READ_EVENTS = 100_000;
/** How long the no-sweep arm appends. */
const NO_SWEEP_SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
/** readStream calls per reader per round, made in turn with the other readers' calls. */
const STREAM_CALLS = 1_000;
/** Events per readAll leg; the readers take turns leg by leg. */
const LEG = 10_000;

interface AppendRun {
  appendsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  seconds: number;
}

/** Single-event appends from 8 workers until `until` resolves; per-append latencies kept. */
async function appendsUntil(store: PostgresEventStore, until: Promise<unknown>): Promise<AppendRun> {
  let stop = false;
  void until.then(() => {
    stop = true;
  });
  const latencies: number[] = [];
  let next = 0;
  const start = performance.now();
  const worker = async (): Promise<void> => {
    while (!stop) {
      const k = next++;
      const t = performance.now();
      await store.append(STREAMS[k % STREAMS.length]!, [benchEvent(k)]);
      latencies.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  await until;
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    appendsPerSecond: latencies.length / seconds,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    maxMs: latencies[latencies.length - 1] ?? 0,
    seconds,
  };
}

/**
 * 100k events in VICTIMS streams, whose first SWEEP_EVENTS / VICTIMS - 1 versions are then removed: by the kit's
 * retention (maxCount 1 on each, swept by enforceRetention) or by the raw floor's plain range DELETEs.
 */
async function fillVictims(store: PostgresEventStore): Promise<string[]> {
  const per = SWEEP_EVENTS / VICTIMS;
  const ids = Array.from({ length: VICTIMS }, () => `victim-${randomUUID()}`);
  await Promise.all(
    ids.map(async (id) => {
      for (let v = 0; v < per; v += 100) {
        await store.append(
          id,
          Array.from({ length: 100 }, (_, j) => benchEvent(v + j)),
        );
      }
    }),
  );
  return ids;
}

type SweepArm = 'kit sweep' | 'raw delete' | 'no sweep';

/** Starts removing the victims' old events the arm's way; resolves to how many it removed. */
async function startRemoval(
  arm: Exclude<SweepArm, 'no sweep'>,
  store: PostgresEventStore,
  pool: pg.Pool,
  victims: string[],
): Promise<() => Promise<number>> {
  const per = SWEEP_EVENTS / VICTIMS;
  if (arm === 'kit sweep') {
    for (const id of victims) await store.setStreamMetadata(id, { maxCount: 1 });
    return async () => (await store.enforceRetention()).removedEvents;
  }
  // The floor: the same rows, 1,000 per statement and transaction, by the (stream_id, version) key, no checks.
  return async () => {
    let removed = 0;
    for (const id of victims) {
      for (let v = 1; v < per; v += 1000) {
        const r = await pool.query({
          name: 'raw_sweep',
          text: 'DELETE FROM bench_sweep.events WHERE stream_id = $1 AND version >= $2 AND version < least($2 + 1000, $3)',
          values: [id, v, per],
        });
        removed += r.rowCount ?? 0;
      }
    }
    return removed;
  };
}

async function benchDatabase(serverUrl: string): Promise<{ url: string; settings: Record<string, string> }> {
  const admin = new pg.Pool({ connectionString: serverUrl, max: 1 });
  await admin.query('DROP DATABASE IF EXISTS eventstore_bench_lifecycle WITH (FORCE)');
  await admin.query('CREATE DATABASE eventstore_bench_lifecycle');
  const { rows } = await admin.query(
    `SELECT version() AS version, current_setting('fsync') AS fsync,
            current_setting('synchronous_commit') AS synchronous_commit`,
  );
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = '/eventstore_bench_lifecycle';
  return { url: url.toString(), settings: rows[0] };
}

const COLUMNS = `global_position::text AS position, stream_id, version, id::text AS id, event_type,
  event_data::text AS event_data, metadata::text AS metadata,
  (extract(epoch FROM created_at) * 1000)::float8 AS created_ms`;

interface Row {
  position: string;
  stream_id: string;
  version: string;
  id: string;
  event_type: string;
  event_data: string;
  metadata: string;
  created_ms: number;
}

/** What the kit builds from a row, so that the floors pay the same parsing. */
function parse(row: Row) {
  return {
    id: row.id,
    streamId: row.stream_id,
    type: row.event_type,
    data: JSON.parse(row.event_data),
    metadata: JSON.parse(row.metadata),
    version: Number(row.version),
    position: BigInt(row.position),
    createdAt: new Date(row.created_ms),
  };
}

/** The raw floors, on their own pool: the same tables and columns, without the lifecycle's state and filter. */
function floors(pool: pg.Pool, schema: string) {
  const stream = `SELECT ${COLUMNS} FROM ${schema}.events WHERE stream_id = $1 AND version >= $2
    ORDER BY version LIMIT $3`;
  const state = `SELECT version FROM ${schema}.streams WHERE stream_id = $1`;
  const all = (filter: string) => `SELECT ${COLUMNS} FROM ${schema}.events ev WHERE global_position > $1
      AND global_position < (pg_snapshot_xmin(pg_current_snapshot())::text::bigint << 20)${filter}
    ORDER BY global_position LIMIT $2`;
  return {
    /** One SELECT: the least a read of one stream can be. */
    readStream: async (id: string) => {
      const { rows } = await pool.query<Row>({ name: `${schema}_s`, text: stream, values: [id, 1, 1000] });
      return rows.map(parse).length;
    },
    /** The state query, then the SELECT: the round trips the kit's readStream makes. */
    readStreamTwoTrips: async (id: string) => {
      await pool.query({ name: `${schema}_st`, text: state, values: [id] });
      const { rows } = await pool.query<Row>({ name: `${schema}_s`, text: stream, values: [id, 1, 1000] });
      return rows.map(parse).length;
    },
    /** The kit's readAll query without the retention filter, 1,000 rows a page: `n` events after `after`. */
    readAll: (after: bigint, n: number) => readAllLeg(pool, `${schema}_a`, all(''), after, n),
    /** The same with the kit's retention filter: the SQL cost of the per-row stream_metadata check alone. */
    readAllFiltered: (after: bigint, n: number) =>
      readAllLeg(pool, `${schema}_af`, all(retentionFilter(schema, 'ev')), after, n),
  };
}

async function readAllLeg(pool: pg.Pool, name: string, text: string, after: bigint, n: number): Promise<Leg> {
  let count = 0;
  let cursor = after.toString();
  while (count < n) {
    const limit = Math.min(1000, n - count);
    const { rows } = await pool.query<Row>({ name, text, values: [cursor, limit] });
    for (const row of rows) if (parse(row).version > 0) count++;
    if (rows.length < limit) break;
    cursor = rows[rows.length - 1]!.position;
  }
  return { count, last: BigInt(cursor) };
}

/** What one leg of a readAll read: how many events, and the position to resume after. */
interface Leg {
  count: number;
  last: bigint;
}

async function kitReadAll(store: PostgresEventStore, after: bigint, n: number): Promise<Leg> {
  let count = 0;
  let last = after;
  for await (const e of store.readAll({ after, maxCount: n })) {
    if (e.version > 0) count++;
    last = e.position;
  }
  return { count, last };
}

/** Seconds each of `ops` takes in all, over `times` turns; each turn runs every op once, in rotated order. */
async function interleaved(ops: Array<() => Promise<void>>, times: number): Promise<number[]> {
  const seconds = ops.map(() => 0);
  for (let i = 0; i < times; i++) {
    for (const k of rotate(
      ops.map((_, j) => j),
      i,
    )) {
      const t = performance.now();
      await ops[k]!();
      seconds[k]! += (performance.now() - t) / 1000;
    }
  }
  return seconds;
}

function rotate<T>(items: readonly T[], by: number): T[] {
  return items.map((_, i) => items[(i + by) % items.length]!);
}

const ratio = (a: number, b: number) => Number((a / b).toFixed(3));

async function main(): Promise<void> {
  const server = await startPostgres();
  try {
    const { url, settings } = await benchDatabase(server.url);
    const pool = new pg.Pool({ connectionString: url, max: 10 });
    pool.on('error', () => {});
    const floorPool = new pg.Pool({ connectionString: url, max: 2 });
    floorPool.on('error', () => {});
    console.log(`PostgreSQL: ${settings.version}; fsync=${settings.fsync}`);
    console.log(`${ROUNDS} interleaved rounds, ${cpus().length} CPUs\n`);

    // --- 1. appends beside a retention sweep ---
    const store = await createPostgresEventStore(pool, { schema: 'bench_sweep' });
    await throughput(1000, 8, (k) =>
      store.append(STREAMS[k % STREAMS.length]!, [benchEvent(k)]).then(() => {}),
    );
    const arms: SweepArm[] = ['kit sweep', 'raw delete', 'no sweep'];
    const sweeps: Array<{ arm: SweepArm; removed: number; seconds: number; appends: AppendRun }> = [];
    for (let r = 0; r < ROUNDS; r++) {
      for (const arm of rotate(arms, r)) {
        let removed = 0;
        let seconds = NO_SWEEP_SECONDS;
        let appends: AppendRun;
        if (arm === 'no sweep') {
          appends = await appendsUntil(store, new Promise((res) => setTimeout(res, seconds * 1000)));
        } else {
          const victims = await fillVictims(store);
          const remove = await startRemoval(arm, store, pool, victims);
          await pool.query('VACUUM ANALYZE bench_sweep.events');
          const t = performance.now();
          const removal = remove().then((n) => {
            seconds = (performance.now() - t) / 1000;
            removed = n;
          });
          appends = await appendsUntil(store, removal);
          if (removed !== SWEEP_EVENTS - VICTIMS) throw new Error(`${arm} removed ${removed} events`);
        }
        sweeps.push({ arm, removed, seconds, appends });
        console.log(
          `round ${r + 1}, ${arm}: ${removed} events removed in ${seconds.toFixed(2)}s; appends/s ${appends.appendsPerSecond.toFixed(0)}, p99 ${appends.p99Ms.toFixed(1)} ms, max ${appends.maxMs.toFixed(1)} ms`,
        );
      }
    }
    await store.close();

    // --- 2 and 3. reads: a store with no metadata rows, the same data with a row on every stream ---
    const plain = await createPostgresEventStore(pool, { schema: 'bench_plain' });
    for (let k = 0; k < READ_EVENTS / 100; k++) {
      await plain.append(
        STREAMS[k % STREAMS.length]!,
        Array.from({ length: 100 }, (_, j) => benchEvent(j)),
      );
    }
    const small = `small-${randomUUID()}`;
    await plain.append(
      small,
      Array.from({ length: 10 }, (_, j) => benchEvent(j)),
    );
    const meta = await createPostgresEventStore(pool, { schema: 'bench_meta' });
    await pool.query(`INSERT INTO bench_meta.events SELECT * FROM bench_plain.events;
      INSERT INTO bench_meta.streams SELECT * FROM bench_plain.streams`);
    for (const id of [...STREAMS, small]) await meta.setStreamMetadata(id, { maxCount: 1_000_000 });
    await pool.query('VACUUM ANALYZE bench_plain.events');
    await pool.query('VACUUM ANALYZE bench_meta.events');
    const floor = floors(floorPool, 'bench_plain');
    const metaFloor = floors(floorPool, 'bench_meta');

    const streamReaders: Record<string, () => Promise<number>> = {
      kit: async () => {
        let n = 0;
        for await (const _ of plain.readStream(small)) n++;
        return n;
      },
      'kit, stream with metadata': async () => {
        let n = 0;
        for await (const _ of meta.readStream(small)) n++;
        return n;
      },
      'raw floor (1 query)': () => floor.readStream(small),
      'raw floor (2 queries)': () => floor.readStreamTwoTrips(small),
    };
    const allReaders: Record<string, (after: bigint, n: number) => Promise<Leg>> = {
      kit: (after, n) => kitReadAll(plain, after, n),
      'kit, metadata row on every stream': (after, n) => kitReadAll(meta, after, n),
      'raw floor': (after, n) => floor.readAll(after, n),
      'raw floor + retention filter': (after, n) => floor.readAllFiltered(after, n),
      'raw floor + retention filter, metadata rows': (after, n) => metaFloor.readAllFiltered(after, n),
    };
    const reads: Record<string, number[]> = {};
    const alls: Record<string, number[]> = {};
    const streamNames = Object.keys(streamReaders);
    const allNames = Object.keys(allReaders);
    const check = (name: string, got: number, expected: number) => {
      if (got !== expected) throw new Error(`${name} read ${got} events, expected ${expected}`);
    };
    for (let r = -1; r < ROUNDS; r++) {
      // readStream: one call of each reader in turn, STREAM_CALLS times; the first round warms up.
      const streamSeconds = await interleaved(
        streamNames.map((name) => async () => check(name, await streamReaders[name]!(), 10)),
        STREAM_CALLS,
      );
      // readAll: READ_EVENTS in legs of LEG events, each reader reading its next leg in turn.
      const cursors = allNames.map(() => 0n);
      const allSeconds = await interleaved(
        allNames.map((name, k) => async () => {
          const leg = await allReaders[name]!(cursors[k]!, LEG);
          check(name, leg.count, LEG);
          cursors[k] = leg.last;
        }),
        READ_EVENTS / LEG,
      );
      if (r < 0) continue;
      streamNames.forEach((name, k) => {
        reads[name] = [...(reads[name] ?? []), STREAM_CALLS / streamSeconds[k]!];
      });
      allNames.forEach((name, k) => {
        alls[name] = [...(alls[name] ?? []), READ_EVENTS / allSeconds[k]!];
      });
      console.log(`round ${r + 1}/${ROUNDS} (reads) done`);
    }
    await plain.close();
    await meta.close();
    await floorPool.end();
    await pool.end();

    const byArm = (arm: SweepArm) => sweeps.filter((x) => x.arm === arm);
    const appendRate = (arm: SweepArm) => median(byArm(arm).map((x) => x.appends.appendsPerSecond));
    const p99 = (arm: SweepArm) => median(byArm(arm).map((x) => x.appends.p99Ms));
    const sweepSummary = {
      sweepSeconds: Number(median(byArm('kit sweep').map((x) => x.seconds)).toFixed(2)),
      rawDeleteSeconds: Number(median(byArm('raw delete').map((x) => x.seconds)).toFixed(2)),
      appendsPerSecond: Object.fromEntries(arms.map((a) => [a, Math.round(appendRate(a))])),
      p99Ms: Object.fromEntries(arms.map((a) => [a, Number(p99(a).toFixed(1))])),
      maxMs: Object.fromEntries(
        arms.map((a) => [a, Number(Math.max(...byArm(a).map((x) => x.appends.maxMs)).toFixed(1))]),
      ),
      appendsDuringSweepToNoSweep: ratio(appendRate('kit sweep'), appendRate('no sweep')),
      appendsDuringRawDeleteToNoSweep: ratio(appendRate('raw delete'), appendRate('no sweep')),
      appendsDuringSweepToRawDelete: ratio(appendRate('kit sweep'), appendRate('raw delete')),
      sweepSecondsToRawDelete: ratio(
        median(byArm('kit sweep').map((x) => x.seconds)),
        median(byArm('raw delete').map((x) => x.seconds)),
      ),
    };
    const m = (values: Record<string, number[]>, name: string) => median(values[name]!);
    const readSummary = {
      readStreamCallsPerSecond: Object.fromEntries(
        Object.keys(reads).map((k) => [k, Math.round(m(reads, k))]),
      ),
      readStreamKitToOneQueryFloor: ratio(m(reads, 'kit'), m(reads, 'raw floor (1 query)')),
      readStreamKitToTwoQueryFloor: ratio(m(reads, 'kit'), m(reads, 'raw floor (2 queries)')),
      readStreamTwoQueryToOneQueryFloor: ratio(
        m(reads, 'raw floor (2 queries)'),
        m(reads, 'raw floor (1 query)'),
      ),
      readStreamWithMetadataToWithout: ratio(m(reads, 'kit, stream with metadata'), m(reads, 'kit')),
      readAllEventsPerSecond: Object.fromEntries(Object.keys(alls).map((k) => [k, Math.round(m(alls, k))])),
      readAllKitToFloor: ratio(m(alls, 'kit'), m(alls, 'raw floor')),
      readAllWithMetadataRowsToFloor: ratio(
        m(alls, 'kit, metadata row on every stream'),
        m(alls, 'raw floor'),
      ),
      readAllWithMetadataRowsToWithout: ratio(m(alls, 'kit, metadata row on every stream'), m(alls, 'kit')),
      readAllFloorFilterToFloor: ratio(m(alls, 'raw floor + retention filter'), m(alls, 'raw floor')),
      readAllFloorFilterWithMetadataRowsToFloor: ratio(
        m(alls, 'raw floor + retention filter, metadata rows'),
        m(alls, 'raw floor'),
      ),
    };
    console.log('\nappends at concurrency 8 beside a 100k-event retention sweep:');
    console.log(JSON.stringify(sweepSummary, null, 2));
    console.log('reads:');
    console.log(JSON.stringify(readSummary, null, 2));

    await mkdir('bench/results', { recursive: true });
    await writeFile(
      'bench/results/lifecycle.json',
      `${JSON.stringify(
        {
          date: new Date().toISOString(),
          node: process.version,
          cpus: cpus().length,
          cpuModel: cpus()[0]?.model,
          server: settings,
          rounds: ROUNDS,
          noSweepSeconds: NO_SWEEP_SECONDS,
          streamCallsPerRound: STREAM_CALLS,
          readAllLeg: LEG,
          sweep: sweepSummary,
          reads: readSummary,
          rawRounds: { sweeps, readStream: reads, readAll: alls },
        },
        null,
        2,
      )}\n`,
    );
    console.log('\nsaved bench/results/lifecycle.json');
  } finally {
    await server.stop();
  }
}

await main();
