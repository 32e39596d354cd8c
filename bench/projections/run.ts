/**
 * `npm run bench:projections`: what exactly-once costs. The order_summaries projection catches up over the same stored
 * events twice per round, with its read model in the event store's own database: once at least once (the handler
 * writes through its own client, the checkpoint is saved every 100 events) and once exactly once (each event in the
 * store's transaction with its checkpoint). Rounds interleave the two; the figure is the ratio of their medians, on
 * PGlite (in memory) and on a PostgreSQL server (embedded, unless EVENTSTORE_TEST_POSTGRES_URL). BENCH_EVENTS (default
 * 3,000) and BENCH_ROUNDS (default 3) tune it. Writes bench/results/projections.json and .md.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { orderSummaries } from '../../examples/order-summaries/projection.js';
import { createPgliteEventStore, createPostgresEventStore } from '../../src/adapters/postgres/index.js';
import type { EventStore } from '../../src/index.js';
import {
  type SqlClient,
  sqlClient,
  startProjection,
  subscriptionNameOf,
} from '../../src/projections/index.js';
import { startPostgres } from '../../test/support/postgres-server.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 3_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

interface Result {
  backend: string;
  events: number;
  rounds: number;
  atLeastOncePerSec: number;
  exactlyOncePerSec: number;
  /** exactly-once throughput / at-least-once throughput. */
  ratio: number;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function seed(store: EventStore): Promise<void> {
  for (let i = 0; i < EVENTS; i += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, EVENTS - i) }, (_, k) =>
        store.append(`order-${i + k}`, [{ type: 'OrderPlaced', data: { customer: 'c', total: i + k } }]),
      ),
    );
  }
}

/** One catch-up from the first event into a fresh read-model schema: events per second. */
async function catchUp(store: EventStore, db: SqlClient, sameDatabase: boolean): Promise<number> {
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const { projection } = orderSummaries({ schema });
  await store.checkpoints.delete(subscriptionNameOf(projection.name, 1));
  const started = performance.now();
  const running = await startProjection(store, projection, { db, sameDatabase });
  await running.caughtUp;
  const seconds = (performance.now() - started) / 1000;
  await running.stop();
  if (running.delivery !== (sameDatabase ? 'exactly-once' : 'at-least-once'))
    throw new Error(running.delivery);
  const rows = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM "${schema}"."order_summaries"`);
  if (Number(rows[0]!.n) !== EVENTS) throw new Error(`projected ${rows[0]!.n} of ${EVENTS}`);
  await db.query(`DROP SCHEMA "${schema}" CASCADE`);
  return EVENTS / seconds;
}

async function bench(backend: string, store: EventStore, db: SqlClient): Promise<Result> {
  await seed(store);
  const loose: number[] = [];
  const exact: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    loose.push(await catchUp(store, db, false));
    exact.push(await catchUp(store, db, true));
  }
  const result = {
    backend,
    events: EVENTS,
    rounds: ROUNDS,
    atLeastOncePerSec: Math.round(median(loose)),
    exactlyOncePerSec: Math.round(median(exact)),
    ratio: Number((median(exact) / median(loose)).toFixed(2)),
  };
  console.log(JSON.stringify(result));
  return result;
}

const results: Result[] = [];
{
  const instance = new PGlite();
  const store = await createPgliteEventStore(instance);
  results.push(await bench('pglite', store, sqlClient(instance)));
  await store.close();
  await instance.close();
}
{
  const server = await startPostgres();
  const pool = new pg.Pool({ connectionString: server.url, max: 8 });
  pool.on('error', () => {});
  const store = await createPostgresEventStore(pool, { schema: `bench_${randomBytes(4).toString('hex')}` });
  try {
    results.push(await bench('postgres', store, sqlClient(pool)));
  } finally {
    await store.close();
    await pool.end();
    await server.stop();
  }
}

const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`;
writeFileSync('bench/results/projections.json', `${JSON.stringify({ machine, results }, null, 2)}\n`);
writeFileSync(
  'bench/results/projections.md',
  [
    '# Projections: exactly-once vs at-least-once catch-up',
    '',
    `order_summaries over ${EVENTS} OrderPlaced events, read model in the event store's database, median of ${ROUNDS}`,
    `interleaved rounds each. ${machine}; a shared, loaded machine: read the ratios, not the absolute figures.`,
    '',
    '| backend | at least once (events/s) | exactly once (events/s) | exactly / at least |',
    '| ------- | ------------------------ | ----------------------- | ------------------ |',
    ...results.map((r) => `| ${r.backend} | ${r.atLeastOncePerSec} | ${r.exactlyOncePerSec} | ${r.ratio} |`),
    '',
  ].join('\n'),
);
