import { randomUUID } from 'node:crypto';
import { describeUrl } from '../../config.js';
import type { EventStore } from '../../contract/index.js';
import type { StandaloneCommand } from '../command.js';
import { describeFailure } from '../errors.js';
import { Table } from '../output.js';
import { checkUrl, expectArgs, parseCount, UsageError } from '../usage.js';
import { type BenchEvent, type Floor, openBenchTarget } from './bench-floors.js';

interface Settings {
  events: number;
  batch: number;
  streams: number;
  concurrency: number;
}

interface Row {
  workload: string;
  kit: number;
  floor: number | undefined;
}

function benchEvent(i: number): BenchEvent {
  return {
    id: randomUUID(),
    type: i % 3 === 0 ? 'OrderPlaced' : 'ItemAdded',
    data: {
      orderId: `order-${i}`,
      sku: `SKU-${i % 997}`,
      quantity: (i % 5) + 1,
      price: 19.99,
      note: 'benchmark',
    },
  };
}

/** Appends `events` in batches over `streams` streams, `concurrency` appends in flight; returns the seconds taken. */
async function appendWorkload(
  append: (streamId: string, events: BenchEvent[]) => Promise<void>,
  prefix: string,
  s: Settings,
  count: number,
): Promise<number> {
  const batches: Array<[string, BenchEvent[]]> = [];
  for (let i = 0; i < count; i += s.batch) {
    const stream = `${prefix}${batches.length % s.streams}`;
    batches.push([stream, Array.from({ length: Math.min(s.batch, count - i) }, (_, k) => benchEvent(i + k))]);
  }
  // Appends to one stream go in order, each after the one before it (a lane per stream).
  const lanes = new Map<string, Array<BenchEvent[]>>();
  for (const [stream, events] of batches) lanes.set(stream, [...(lanes.get(stream) ?? []), events]);
  const queue = [...lanes];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(s.concurrency, queue.length) }, async () => {
      for (let lane = queue.shift(); lane !== undefined; lane = queue.shift()) {
        for (const events of lane[1]) await append(lane[0], events);
      }
    }),
  );
  return (performance.now() - started) / 1000;
}

async function readAllKit(store: EventStore, prefix: string): Promise<number> {
  let n = 0;
  for await (const _ of store.readAll({ filter: { streamPrefix: prefix } })) n++;
  return n;
}

export const benchCommand: StandaloneCommand = {
  kind: 'standalone',
  name: 'bench',
  summary: 'measure the append and read workloads against a store, beside its backend’s floor',
  usage: `eventstore-kit bench --url URL [--events N] [--batch N] [--streams N] [--concurrency N] [--json]

Runs two workloads against the store, in a scratch namespace removed afterwards (as conformance does): appends
(--events, default 2000, in appends of --batch events, default 1, over --streams streams, default 50, with
--concurrency appends in flight, default 8; one stream's appends in order), then readAll and readStream of what it
wrote. Beside each, in the same run, the backend's floor: what the backend does for the same work without the
contract's guarantees (PostgreSQL and PGlite: plain INSERTs into a table of the same columns and keys, reads by
position; DynamoDB: one unconditional BatchWriteItem per append; EventStoreDB: the client's own append and read).
memory: has no floor. Reports events/s and kit / floor: compare ratios, which the machine's load affects less than
rates.`,
  options: {
    events: { type: 'string' },
    batch: { type: 'string' },
    streams: { type: 'string' },
    concurrency: { type: 'string' },
  },
  parse({ values, positionals }) {
    expectArgs('bench', positionals, []);
    const url = values.url;
    if (typeof url !== 'string' || url === '') throw new UsageError('bench needs --url URL', 'bench');
    checkUrl(url, '--url', 'bench');
    const settings: Settings = {
      events: parseCount(values.events, '--events', 'bench') ?? 2000,
      batch: parseCount(values.batch, '--batch', 'bench') ?? 1,
      streams: parseCount(values.streams, '--streams', 'bench') ?? 50,
      concurrency: parseCount(values.concurrency, '--concurrency', 'bench') ?? 8,
    };
    for (const [k, v] of Object.entries(settings)) {
      if (v < 1) throw new UsageError(`--${k} must be at least 1`, 'bench');
    }
    return async (out) => {
      const scheme = describeUrl(url);
      let target: Awaited<ReturnType<typeof openBenchTarget>> | undefined;
      try {
        target = await openBenchTarget(url);
        const { store, floor } = target;
        const prefix = `bench-${randomUUID().slice(0, 8)}-`;
        const rows = await runWorkloads(store, floor, prefix, settings, (t) => out.note(t));
        const removed = await target.close();
        target = undefined;
        report(out, scheme, settings, rows, floor, removed);
        return 0;
      } catch (err) {
        out.note(describeFailure(err, scheme, false));
        return 1;
      } finally {
        await target?.close().catch(() => {});
      }
    };
  },
};

async function runWorkloads(
  store: EventStore,
  floor: Floor | undefined,
  prefix: string,
  s: Settings,
  note: (text: string) => void,
): Promise<Row[]> {
  // Two rounds, the store and the floor alternating, so that drift (the machine's load) hits both alike.
  const half = Math.ceil(s.events / 2);
  let kitSeconds = 0;
  let floorSeconds = 0;
  for (let round = 0; round < 2; round++) {
    const count = round === 0 ? half : s.events - half;
    note(`bench: append round ${round + 1} of 2`);
    kitSeconds += await appendWorkload(
      async (stream, events) => {
        await store.append(stream, events);
      },
      `${prefix}r${round}-`,
      s,
      count,
    );
    if (floor)
      floorSeconds += await appendWorkload((st, ev) => floor.append(st, ev), `${prefix}r${round}-`, s, count);
  }
  note('bench: readAll and readStream');
  let started = performance.now();
  const read = await readAllKit(store, prefix);
  const readSeconds = (performance.now() - started) / 1000;
  if (read !== s.events) {
    note(
      `bench: readAll returned ${read} of the ${s.events} events (transactions still open on the backend)`,
    );
  }
  let floorRead: number | undefined;
  if (floor?.readAll) {
    started = performance.now();
    const n = await floor.readAll();
    floorRead = n / ((performance.now() - started) / 1000);
  }
  started = performance.now();
  let streamEvents = 0;
  for (let round = 0; round < 2; round++) {
    for (let k = 0; k < s.streams; k++) {
      for await (const _ of store.readStream(`${prefix}r${round}-${k}`)) streamEvents++;
    }
  }
  const streamSeconds = (performance.now() - started) / 1000;
  return [
    { workload: 'append', kit: s.events / kitSeconds, floor: floor ? s.events / floorSeconds : undefined },
    { workload: 'readAll', kit: read / readSeconds, floor: floorRead },
    { workload: 'readStream', kit: streamEvents / streamSeconds, floor: undefined },
  ];
}

function report(
  out: { json: boolean; line(t: string): void; jsonLine(v: unknown): void },
  scheme: string,
  s: Settings,
  rows: Row[],
  floor: Floor | undefined,
  removed: string,
): void {
  const rate = (n: number | undefined) =>
    n === undefined ? '-' : `${Math.round(n).toLocaleString('en-US')} ev/s`;
  const ratio = (r: Row) => (r.floor === undefined ? undefined : r.kit / r.floor);
  if (out.json) {
    out.jsonLine({
      store: scheme,
      ...s,
      floor: floor?.name ?? null,
      workloads: rows.map((r) => ({
        workload: r.workload,
        eventsPerSecond: r.kit,
        floorEventsPerSecond: r.floor ?? null,
        ratioToFloor: ratio(r) ?? null,
      })),
      cleanup: removed,
    });
    return;
  }
  out.line(
    `bench of ${scheme}: ${s.events} events in appends of ${s.batch} over ${s.streams} streams, ${s.concurrency} in flight; floor: ${floor?.name ?? 'none'}`,
  );
  const table = new Table(['WORKLOAD', 'EVENTSTORE-KIT', 'FLOOR', 'KIT / FLOOR'], out.line);
  for (const r of rows) table.add([r.workload, rate(r.kit), rate(r.floor), ratio(r)?.toFixed(2) ?? '-']);
  table.flush();
  out.line(removed);
}
