/**
 * `npm run bench:subscriptions`: for each backend, (1) the latency from `append` resolving to the handler being
 * called, p50/p99/max, for probe appends while 8 workers append single events in the background; (2) catch-up
 * throughput of a subscription from the start over stored events, as a ratio to readAll over the same events in
 * the same run; (3) on a PostgreSQL server, append throughput at c=8 with one live subscriber beside it vs none,
 * rounds interleaved. Writes bench/results/subscriptions.json and .md.
 *
 * Backends: memory, PGlite (in memory), PostgreSQL (an embedded server, unless EVENTSTORE_TEST_POSTGRES_URL), DynamoDB
 * Local (started here, unless EVENTSTORE_TEST_DYNAMODB_ENDPOINT), the EventStoreDB emulator. BENCH_SECONDS (per
 * latency or throughput measurement, default 5), BENCH_ROUNDS (catch-up rounds, default 2) and BENCH_EVENTS (catch-up
 * events) tune the run; BENCH_BACKENDS (comma-separated names) picks backends.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import type { EventStore, RecordedEvent } from '../../src/index.js';
import { createEventStore } from '../../src/index.js';
import { startDynamoDBLocal } from '../../test/support/dynamodb-local.js';
import { startEsdbEmulator } from '../../test/support/esdb-emulator/index.js';
import { startPostgres } from '../../test/support/postgres-server.js';
import { median, throughput } from '../postgres/measure.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
/** Interleaved rounds of readAll and subscription catch-up; the medians are reported (default 2). */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
/** Overrides the catch-up event count of every backend (defaults: 100,000; emulator 20,000). */
const EVENTS = process.env.BENCH_EVENTS === undefined ? undefined : Number(process.env.BENCH_EVENTS);

interface Latency {
  probes: number;
  p50: number;
  p99: number;
  max: number;
}

interface CatchUp {
  events: number;
  readAllPerSec: number;
  subscriptionPerSec: number;
  ratio: number;
}

interface Result {
  backend: string;
  /** When this backend was measured (runs may measure some backends only). */
  measuredAt?: string;
  seconds?: number;
  /** The 1-minute load average when this backend's measurement started and ended: the machine is shared. */
  loadAverage?: [number, number];
  latencyMs: Latency;
  catchUp: CatchUp;
  appendsWithSubscriber?: { none: number; one: number; ratio: number };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const event = (i: number) => ({ type: 'Bench', data: { i, pad: 'x'.repeat(100) } });

/** Probe appends every ~20 ms for SECONDS while 8 workers append single events; latency append → handler. */
async function latency(store: EventStore): Promise<Latency> {
  const probe = `lat-${randomUUID()}`;
  const seen = new Map<string, number>();
  const sub = store.subscribe({
    from: 'end',
    filter: { streamPrefix: probe },
    handler: (e) => {
      seen.set(e.id, performance.now());
    },
  });
  await sub.caughtUp;
  let stop = false;
  const background = Promise.all(
    Array.from({ length: 8 }, async (_, w) => {
      for (let i = 0; !stop; i++) {
        await store.append(`bg-${w}-${i % 50}`, [event(i)]);
        // An in-process store answers in microtasks: let timers (the probes) run.
        await new Promise((r) => setImmediate(r));
      }
    }),
  );
  const sent: Array<{ id: string; at: number }> = [];
  const end = performance.now() + SECONDS * 1000;
  for (let i = 0; performance.now() < end; i++) {
    const id = randomUUID();
    await store.append(probe, [{ ...event(i), id }]);
    sent.push({ id, at: performance.now() });
    await new Promise((r) => setTimeout(r, 20));
  }
  stop = true;
  await background;
  const deadline = performance.now() + 30_000;
  while (seen.size < sent.length && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  await sub.stop();
  const values = sent
    .map((s) => Math.max(0, (seen.get(s.id) ?? Number.POSITIVE_INFINITY) - s.at))
    .sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    probes: values.length,
    p50: round(percentile(values, 50)),
    p99: round(percentile(values, 99)),
    max: round(values.at(-1)!),
  };
}

/** Catch-up over `count` stored events under one prefix: readAll and a subscription, interleaved, twice each. */
async function catchUp(store: EventStore, count: number, batch: number): Promise<CatchUp> {
  const prefix = `cu-${randomUUID()}/`;
  for (let i = 0; i < count; i += batch) {
    await store.append(
      `${prefix}${(i / batch) % 100}`,
      Array.from({ length: Math.min(batch, count - i) }, (_, j) => event(i + j)),
    );
  }
  const filter = { streamPrefix: prefix };
  const readAll = async () => {
    const start = performance.now();
    let n = 0;
    for await (const _ of store.readAll({ filter })) n++;
    if (n !== count) throw new Error(`readAll read ${n} of ${count}`);
    return n / ((performance.now() - start) / 1000);
  };
  const subscription = async () => {
    let n = 0;
    const start = performance.now();
    const sub = store.subscribe({
      filter,
      handler: (_e: RecordedEvent) => {
        n++;
      },
    });
    await sub.caughtUp;
    const rate = n / ((performance.now() - start) / 1000);
    await sub.stop();
    if (n !== count) throw new Error(`the subscription handled ${n} of ${count}`);
    return rate;
  };
  const reads: number[] = [];
  const subs: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    reads.push(await readAll());
    subs.push(await subscription());
  }
  const r = median(reads);
  const s = median(subs);
  return {
    events: count,
    readAllPerSec: Math.round(r),
    subscriptionPerSec: Math.round(s),
    ratio: Math.round((s / r) * 100) / 100,
  };
}

/** Rounds of the appends-with-a-subscriber comparison, each one measurement with and one without. */
const APPEND_ROUNDS = 4;

/** c=8 single-event appends with no subscriber and with one live subscriber, rounds interleaved. */
async function appendsWithSubscriber(
  store: EventStore,
): Promise<{ none: number; one: number; ratio: number }> {
  const none: number[] = [];
  const one: number[] = [];
  const run = () =>
    throughput(SECONDS * 1000, 8, (k) => store.append(`tp-${k % 200}`, [event(k)]).then(() => {}));
  const withSubscriber = async () => {
    const sub = store.subscribe({ from: 'end', handler: () => {} });
    await sub.caughtUp;
    one.push(await run());
    await sub.stop();
  };
  // The order alternates, so that neither side always runs on the larger table or the warmer server.
  for (let round = 0; round < APPEND_ROUNDS; round++) {
    if (round % 2 === 0) {
      none.push(await run());
      await withSubscriber();
    } else {
      await withSubscriber();
      none.push(await run());
    }
  }
  const a = median(none);
  const b = median(one);
  return { none: Math.round(a), one: Math.round(b), ratio: Math.round((b / a) * 1000) / 1000 };
}

async function bench(
  backend: string,
  open: () => Promise<EventStore>,
  defaultEvents: number,
  batch: number,
  appends = false,
): Promise<Result> {
  const events = EVENTS ?? defaultEvents;
  console.log(`${backend}: latency…`);
  const store = await open();
  const loadBefore = Math.round(loadavg()[0]! * 10) / 10;
  try {
    const latencyMs = await latency(store);
    console.log(`${backend}:`, latencyMs, 'catch-up…');
    const cu = await catchUp(store, events, batch);
    console.log(`${backend}:`, cu);
    const result: Result = {
      backend,
      seconds: SECONDS,
      loadAverage: [loadBefore, Math.round(loadavg()[0]! * 10) / 10],
      latencyMs,
      catchUp: cu,
    };
    if (appends) {
      result.appendsWithSubscriber = await appendsWithSubscriber(store);
      console.log(`${backend}:`, result.appendsWithSubscriber);
    }
    return result;
  } finally {
    await store.close();
  }
}

const only = process.env.BENCH_BACKENDS?.split(',');
const wanted = (name: string) => only === undefined || only.includes(name);
const resultsUrl = new URL('../results/subscriptions.json', import.meta.url);
const results: Result[] = [];
if (wanted('memory')) results.push(await bench('memory', () => createEventStore('memory:'), 100_000, 100));
if (wanted('pglite'))
  results.push(await bench('pglite', () => createEventStore('pglite:memory'), 100_000, 100));
if (wanted('postgres')) {
  const server = await startPostgres();
  try {
    const url = new URL(server.url);
    url.searchParams.set('schema', `bench_subs_${randomUUID().slice(0, 8)}`);
    results.push(await bench('postgres', () => createEventStore(url.toString()), 100_000, 100, true));
  } finally {
    await server.stop();
  }
}
if (wanted('dynamodb')) {
  const local = await startDynamoDBLocal();
  try {
    process.env.AWS_ACCESS_KEY_ID ??= 'local';
    process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
    const url = `dynamodb://bench_subs_${randomUUID().slice(0, 8)}?region=us-east-1&endpoint=${encodeURIComponent(local.url)}`;
    results.push(await bench('dynamodb', () => createEventStore(url), 100_000, 50));
  } finally {
    await local.stop();
  }
}
if (wanted('eventstoredb')) {
  const emulator = await startEsdbEmulator();
  try {
    results.push(await bench('eventstoredb (emulator)', () => createEventStore(emulator.url), 20_000, 100));
  } finally {
    await emulator.stop();
  }
}

const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`;
const stamp = new Date().toISOString();
for (const r of results) r.measuredAt = stamp;
// Backends measured in an earlier run (BENCH_BACKENDS picks some) keep their figures, each with its own date.
const earlier: Result[] = existsSync(resultsUrl)
  ? (JSON.parse(readFileSync(resultsUrl, 'utf8')) as { results: Result[] }).results
  : [];
for (const r of earlier) if (!results.some((n) => n.backend === r.backend)) results.push(r);
writeFileSync(resultsUrl, `${JSON.stringify({ machine, results }, null, 2)}\n`);
const rows = results.map(
  (r) =>
    `| ${r.backend} (${r.measuredAt?.slice(0, 16)}Z, ${r.seconds} s${r.loadAverage ? `, load ${r.loadAverage.join('→')}` : ''}) | ${r.latencyMs.probes} | ${r.latencyMs.p50} | ${r.latencyMs.p99} | ${r.latencyMs.max} | ${r.catchUp.events.toLocaleString('en')} | ${r.catchUp.readAllPerSec.toLocaleString('en')} | ${r.catchUp.subscriptionPerSec.toLocaleString('en')} | ${r.catchUp.ratio} |`,
);
const pg = results.find((r) => r.appendsWithSubscriber);
const md = `# Subscriptions benchmark

\`npm run bench:subscriptions\` on ${machine}, a shared VM loaded by other work (each row gives the
1-minute load average when its measurement started → ended, where recorded), so absolute figures are noisy; ratios
are side by side in one run. Latency: append resolved → handler called, probes every 20 ms while 8 workers append
single events. Catch-up: a subscription from the start over the stored events,
against readAll over the same events, in the same run (medians of ${ROUNDS}, interleaved).

| backend | probes | p50 ms | p99 ms | max ms | catch-up events | readAll events/s | subscription events/s | ratio |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}
${pg?.appendsWithSubscriber ? `\nPostgreSQL, c=8 single-event appends: ${pg.appendsWithSubscriber.none.toLocaleString('en')}/s with no subscriber, ${pg.appendsWithSubscriber.one.toLocaleString('en')}/s with one live subscriber (ratio ${pg.appendsWithSubscriber.ratio}; medians of ${APPEND_ROUNDS} interleaved rounds of ${pg.seconds} s, the order alternating).\n` : ''}`;
writeFileSync(new URL('../results/subscriptions.md', import.meta.url), md);
console.log(md);
