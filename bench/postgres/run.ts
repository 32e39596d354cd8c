/**
 * `npm run bench:postgres`: the kit's PostgreSQL store beside a raw floor and Emmett's PostgreSQL event store, on
 * one PostgreSQL server (embedded, default durable settings, unless EVENTSTORE_TEST_POSTGRES_URL is set), with
 * rounds interleaved so that drift hits every contender alike. Writes bench/results/postgres.json.
 *
 * BENCH_ROUNDS (default 5) and BENCH_SECONDS (per measurement, default 3) tune the run.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import pg from 'pg';
import { createPostgresEventStore } from '../../src/adapters/postgres/index.js';
import { startPostgres } from '../../test/support/postgres-server.js';
import { benchEvent, type Contender, emmettContender, kitContender, rawContender } from './contenders.js';
import { MemorySampler, median, throughput } from './measure.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const STREAMS = Array.from({ length: 200 }, (_, i) => `bench-${i}`);
const READ_EVENTS = 100_000;

interface Workload {
  key: string;
  label: string;
  unit: 'appends/s' | 'events/s';
  concurrency: number;
  batch: number;
}

const WORKLOADS: Workload[] = [
  { key: 'single_c1', label: 'single-event appends, c=1', unit: 'appends/s', concurrency: 1, batch: 1 },
  { key: 'single_c8', label: 'single-event appends, c=8', unit: 'appends/s', concurrency: 8, batch: 1 },
  { key: 'batch100_c1', label: '100-event appends, c=1', unit: 'events/s', concurrency: 1, batch: 100 },
];

function rotate<T>(items: readonly T[], by: number): T[] {
  return items.map((_, i) => items[(i + by) % items.length]!);
}

async function measureAppends(c: Contender, w: Workload, seconds: number): Promise<number> {
  const ops = await throughput(seconds * 1000, w.concurrency, (k) =>
    c.append(
      STREAMS[k % STREAMS.length]!,
      Array.from({ length: w.batch }, (_, j) => benchEvent(k * w.batch + j)),
    ),
  );
  return ops * w.batch;
}

async function measureReadAll(c: Contender): Promise<number> {
  const start = performance.now();
  const n = await c.readAll(READ_EVENTS);
  if (n !== READ_EVENTS) throw new Error(`${c.name} read ${n} events, expected ${READ_EVENTS}`);
  return n / ((performance.now() - start) / 1000);
}

async function benchDatabase(serverUrl: string): Promise<string> {
  const admin = new pg.Pool({ connectionString: serverUrl, max: 1 });
  await admin.query('DROP DATABASE IF EXISTS eventstore_bench WITH (FORCE)');
  await admin.query('CREATE DATABASE eventstore_bench');
  const { rows } = await admin.query(
    `SELECT version() AS version, current_setting('fsync') AS fsync,
            current_setting('synchronous_commit') AS synchronous_commit, current_setting('shared_buffers') AS shared_buffers`,
  );
  await admin.end();
  settings = rows[0];
  const url = new URL(serverUrl);
  url.pathname = '/eventstore_bench';
  return url.toString();
}

let settings: Record<string, string> = {};

async function memoryWhileIterating(url: string): Promise<MemorySampler> {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  const store = await createPostgresEventStore(pool, { schema: 'bench_kit' });
  const sampler = new MemorySampler();
  const gc = (globalThis as { gc?: () => void }).gc;
  let n = 0;
  gc?.();
  for await (const _ of store.readAll({ maxCount: READ_EVENTS })) {
    if (++n % 5000 === 0) {
      gc?.();
      sampler.sample(n);
    }
  }
  await store.close();
  await pool.end();
  return sampler;
}

async function main(): Promise<void> {
  const server = await startPostgres();
  try {
    const url = await benchDatabase(server.url);
    const kit = await kitContender(url);
    const contenders = [kit, await rawContender(url), await emmettContender(url)];
    const results: Record<string, Record<string, number[]>> = {};
    const record = (workload: string, contender: string, value: number): void => {
      const byContender = results[workload] ?? {};
      results[workload] = byContender;
      byContender[contender] = [...(byContender[contender] ?? []), value];
    };
    console.log(
      `PostgreSQL: ${settings.version}; fsync=${settings.fsync}, synchronous_commit=${settings.synchronous_commit}`,
    );
    console.log(`${ROUNDS} interleaved rounds of ${SECONDS}s per measurement, ${cpus().length} CPUs\n`);

    for (const w of WORKLOADS) for (const c of contenders) await measureAppends(c, w, 0.5); // warm-up
    for (let r = 0; r < ROUNDS; r++) {
      for (const w of WORKLOADS) {
        for (const c of rotate(contenders, r)) {
          const value = await measureAppends(c, w, SECONDS);
          record(w.key, c.name, value);
        }
      }
      process.stdout.write(`round ${r + 1}/${ROUNDS} (appends) done\n`);
    }

    // Top every contender up to at least 100k events, then read the first 100k, interleaved.
    for (const c of contenders) {
      for (let k = 0; k < READ_EVENTS / 100; k++) {
        await c.append(
          `fill-${k % STREAMS.length}`,
          Array.from({ length: 100 }, (_, j) => benchEvent(j)),
        );
      }
    }
    for (const c of contenders) await measureReadAll(c); // warm-up
    for (let r = 0; r < ROUNDS; r++) {
      for (const c of rotate(contenders, r)) record('readAll', c.name, await measureReadAll(c));
    }
    const memory = await memoryWhileIterating(url);
    for (const c of contenders) await c.close();

    const rows = [
      ...WORKLOADS.map((w) => ({ key: w.key, label: w.label, unit: w.unit })),
      { key: 'readAll', label: `readAll over ${READ_EVENTS / 1000}k events`, unit: 'events/s' },
    ];
    const summary = rows.map((row) => {
      const m = (name: string) => median(results[row.key]![name]!);
      const kitValue = m('eventstore-kit');
      const raw = m('raw floor');
      const emmett = m('emmett');
      return {
        ...row,
        eventstoreKit: Math.round(kitValue),
        rawFloor: Math.round(raw),
        emmett: Math.round(emmett),
        ratioToRaw: Number((kitValue / raw).toFixed(3)),
        ratioToEmmett: Number((kitValue / emmett).toFixed(3)),
      };
    });
    const byKey = Object.fromEntries(summary.map((s) => [s.key, s]));
    const targets = [
      { target: 'single-event c=8 >= 0.85x raw floor', met: byKey.single_c8!.ratioToRaw >= 0.85 },
      { target: 'single-event c=8 >= 2x Emmett', met: byKey.single_c8!.ratioToEmmett >= 2 },
      { target: '100-event appends >= 0.85x raw floor', met: byKey.batch100_c1!.ratioToRaw >= 0.85 },
      { target: 'readAll >= 100k events/s', met: byKey.readAll!.eventstoreKit >= 100_000 },
      {
        target: 'flat memory while iterating 100k events (< 20 MB heap growth)',
        met: memory.heapGrowthMB() < 20,
      },
    ];

    console.log('');
    console.table(
      summary.map((s) => ({
        workload: s.label,
        unit: s.unit,
        'eventstore-kit': s.eventstoreKit,
        'raw floor': s.rawFloor,
        emmett: s.emmett,
        'kit/raw': s.ratioToRaw,
        'kit/emmett': s.ratioToEmmett,
      })),
    );
    console.log(`heap while iterating ${READ_EVENTS} events: growth ${memory.heapGrowthMB().toFixed(1)} MB`);
    for (const t of targets) console.log(`${t.met ? 'MET   ' : 'MISSED'} ${t.target}`);

    await mkdir('bench/results', { recursive: true });
    await writeFile(
      'bench/results/postgres.json',
      `${JSON.stringify(
        {
          date: new Date().toISOString(),
          node: process.version,
          cpus: cpus().length,
          cpuModel: cpus()[0]?.model,
          server: settings,
          rounds: ROUNDS,
          secondsPerMeasurement: SECONDS,
          streams: STREAMS.length,
          summary,
          targets,
          memory: { heapGrowthMB: Number(memory.heapGrowthMB().toFixed(2)), samples: memory.samples },
          rawRounds: results,
        },
        null,
        2,
      )}\n`,
    );
    console.log('\nsaved bench/results/postgres.json');
  } finally {
    await server.stop();
  }
}

await main();
