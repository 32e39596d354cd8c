/**
 * `npm run bench:copy`: how fast `copyStore` (the CLI's copy) moves a store between backends, on 100,000 events
 * (BENCH_COPY_EVENTS): PostgreSQL → DynamoDB Local and PGlite → PostgreSQL. A benchmark, not a test: it asserts
 * nothing.
 *
 * Beside each copy, in the same run, the floor it is compared with: the same batches appended to a fresh target of
 * the same kind by a plain loop (no import, no read of the source, no stream heads), one append after another as
 * the copy does them. The ratio copy / floor is what the copy's own work costs: the source's reads, the target's
 * stream heads and, on PostgreSQL, the import's extra UPDATE of created_at.
 *
 * The store: 1,000 streams of 100 events, written in appends of 10 events, interleaved across streams, so the
 * copy's appends carry 10 events each. Starts its own PostgreSQL and DynamoDB Local (or uses the
 * EVENTSTORE_TEST_* URLs). Figures are this machine's, under whatever load it has: compare ratios, not rates.
 */
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { PGlite } from '@electric-sql/pglite';
import { createPgliteEventStore } from '../../src/adapters/postgres/index.js';
import {
  copyStore,
  createEventStore,
  type EventStore,
  type NewEvent,
  type RecordedEvent,
} from '../../src/index.js';
import { startDynamoDBLocal } from '../../test/support/dynamodb-local.js';
import { startPostgres } from '../../test/support/postgres-server.js';

const EVENTS = Number(process.env.BENCH_COPY_EVENTS ?? 100_000);
const STREAMS = 1_000;
const PER_APPEND = 10;
const ONLY = process.env.BENCH_COPY_ONLY;

function schemaUrl(server: string, schema: string): string {
  const url = new URL(server);
  url.searchParams.set('schema', schema);
  return url.toString();
}

function dynamoUrl(endpoint: string, table: string): string {
  return `dynamodb://${table}?region=us-east-1&endpoint=${encodeURIComponent(endpoint)}`;
}

/** Writes the store: rounds of one 10-event append per stream, 10 appends in flight. */
async function fill(store: EventStore): Promise<void> {
  const rounds = Math.ceil(EVENTS / (STREAMS * PER_APPEND));
  const data = {
    orderId: randomUUID(),
    lines: [{ sku: 'ABC-123', qty: 2, price: 19.99 }],
    note: 'x'.repeat(120),
  };
  for (let r = 0; r < rounds; r++) {
    const streams = Array.from(
      { length: Math.min(STREAMS, (EVENTS - r * STREAMS * PER_APPEND) / PER_APPEND) },
      (_, k) => k,
    );
    for (let i = 0; i < streams.length; i += 10) {
      await Promise.all(
        streams.slice(i, i + 10).map((k) =>
          store.append(
            `order-${k}`,
            Array.from({ length: PER_APPEND }, (_, j) => ({
              type: 'OrderLine',
              data: { ...data, j },
              metadata: { r },
            })),
            { expectedVersion: r * PER_APPEND },
          ),
        ),
      );
    }
    process.stderr.write(`  filled ${Math.min(EVENTS, (r + 1) * STREAMS * PER_APPEND)} events\r`);
  }
  process.stderr.write('\n');
}

async function readAll(store: EventStore): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const e of store.readAll()) out.push(e);
  return out;
}

/** The floor: the source's batches (runs of one stream, at most 100), appended one after another. */
async function plainAppends(events: RecordedEvent[], target: EventStore): Promise<number> {
  const batches: RecordedEvent[][] = [];
  for (const e of events) {
    const last = batches.at(-1);
    if (last && last[0]!.streamId === e.streamId && last.length < 100) last.push(e);
    else batches.push([e]);
  }
  const started = performance.now();
  for (const b of batches) {
    const batch: NewEvent[] = b.map((e) => ({ id: e.id, type: e.type, data: e.data, metadata: e.metadata }));
    await target.append(b[0]!.streamId, batch, { expectedVersion: b[0]!.version - 1 });
  }
  return (performance.now() - started) / 1000;
}

interface Row {
  pair: string;
  events: number;
  copySeconds: number;
  floorSeconds: number;
}

async function measure(
  pair: string,
  source: EventStore,
  target: () => Promise<EventStore>,
  floorTarget: () => Promise<EventStore>,
): Promise<Row> {
  const events = await readAll(source);
  if (events.length !== EVENTS)
    throw new Error(`${pair}: the source holds ${events.length} events, not ${EVENTS}`);
  const t = await target();
  const started = performance.now();
  const result = await copyStore(source, t, {
    onProgress: (p) => {
      if (p.done % 10_000 === 0) process.stderr.write(`  ${pair}: ${p.done}\r`);
    },
  });
  const copySeconds = (performance.now() - started) / 1000;
  await t.close();
  if (result.written !== EVENTS) throw new Error(`${pair}: copied ${result.written} events`);
  const f = await floorTarget();
  const floorSeconds = await plainAppends(events, f);
  await f.close();
  const row = { pair, events: EVENTS, copySeconds, floorSeconds };
  process.stderr.write(`\n${format(row)}\n`);
  return row;
}

function format(r: Row): string {
  const rate = (s: number) => Math.round(r.events / s).toLocaleString('en-US');
  return `| ${r.pair} | ${r.events.toLocaleString('en-US')} | ${rate(r.copySeconds)} | ${rate(r.floorSeconds)} | ${(r.floorSeconds / r.copySeconds).toFixed(2)} |`;
}

const load = loadavg();
const postgres = await startPostgres({ settings: { fsync: 'off' } });
const dynamo = await startDynamoDBLocal();
if (dynamo.url.startsWith('unavailable:')) throw new Error(dynamo.url.slice('unavailable:'.length));
const rows: Row[] = [];
try {
  if (ONLY === undefined || ONLY === 'pg-dynamodb') {
    process.stderr.write('PostgreSQL → DynamoDB Local\n');
    const source = await createEventStore(schemaUrl(postgres.url, `bench_copy_${randomUUID().slice(0, 8)}`));
    await fill(source);
    rows.push(
      await measure(
        'PostgreSQL → DynamoDB Local',
        source,
        () => createEventStore(dynamoUrl(dynamo.url, `copy-${randomUUID().slice(0, 8)}`)),
        () => createEventStore(dynamoUrl(dynamo.url, `floor-${randomUUID().slice(0, 8)}`)),
      ),
    );
    await source.close();
  }
  if (ONLY === undefined || ONLY === 'pglite-pg') {
    process.stderr.write('PGlite → PostgreSQL\n');
    const db = new PGlite();
    const source = await createPgliteEventStore(db, { schema: 'bench' });
    await fill(source);
    rows.push(
      await measure(
        'PGlite → PostgreSQL',
        source,
        () => createEventStore(schemaUrl(postgres.url, `copy_${randomUUID().slice(0, 8)}`)),
        () => createEventStore(schemaUrl(postgres.url, `floor_${randomUUID().slice(0, 8)}`)),
      ),
    );
    await source.close();
    await db.close();
  }
} finally {
  await dynamo.stop();
  await postgres.stop();
}
const end = loadavg();
console.log(`load average (1 min) at start ${load[0]!.toFixed(1)}, at end ${end[0]!.toFixed(1)}`);
console.log('| copy | events | copy events/s | floor events/s (plain appends) | copy / floor |');
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const r of rows) console.log(format(r));
