/**
 * `tsx bench/dynamodb/subscriptions-profile.ts`: where a DynamoDB subscription's time goes, beside a plain readAll.
 * Counts requests per kind (a client middleware) for (1) readAll over PROFILE_EVENTS stored events and a
 * subscription's catch-up over the same events; (2) a live subscription while 8 workers append single events: the
 * readAll calls it makes (how long, how many events, how many ended short) and the latency append → handler.
 * Prints a summary; writes nothing.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBEventStore } from '../../src/adapters/dynamodb/index.js';
import type { EventStore, ReadAllOptions, RecordedEvent } from '../../src/index.js';
import { startDynamoDBLocal } from '../../test/support/dynamodb-local.js';

const EVENTS = Number(process.env.PROFILE_EVENTS ?? 20_000);
const SECONDS = Number(process.env.PROFILE_SECONDS ?? 10);

const counts = new Map<string, number>();
function kind(command: string, input: Record<string, unknown>): string {
  if (command === 'QueryCommand') {
    if (input.IndexName) return `Query ${String(input.IndexName)} (Limit ${String(input.Limit ?? '-')})`;
    const key = String(input.KeyConditionExpression ?? '');
    return `Query ${key.includes('sk <=') ? 'claims' : 'table'}`;
  }
  if (command === 'GetItemCommand') return `GetItem${input.ConsistentRead ? ' (consistent)' : ''}`;
  return command.replace(/Command$/, '');
}
const snapshot = () => new Map(counts);
function diff(before: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of counts) if (v - (before.get(k) ?? 0) > 0) out[k] = v - (before.get(k) ?? 0);
  return out;
}

const local = await startDynamoDBLocal();
const client = new DynamoDBClient({
  endpoint: local.url,
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  maxAttempts: 1,
});
client.middlewareStack.add(
  (next, context) => async (args) => {
    const k = kind(context.commandName ?? '?', args.input as Record<string, unknown>);
    counts.set(k, (counts.get(k) ?? 0) + 1);
    return next(args);
  },
  { step: 'initialize', name: 'profileCounter' },
);
const table = `prof_${randomUUID().slice(0, 8)}`;
const store = new DynamoDBEventStore({ client, tableName: table });
const event = (i: number) => ({ type: 'Bench', data: { i, pad: 'x'.repeat(100) } });

/** The readAll calls the engine makes: wraps the store's public readAll. */
const calls: Array<{ ms: number; events: number; maxCount: number }> = [];
const readAll = store.readAll.bind(store);
store.readAll = (options?: ReadAllOptions) => {
  const inner = readAll(options);
  return {
    async *[Symbol.asyncIterator]() {
      const start = performance.now();
      let n = 0;
      try {
        for await (const e of inner) {
          n++;
          yield e;
        }
      } finally {
        calls.push({ ms: performance.now() - start, events: n, maxCount: options?.maxCount ?? Infinity });
      }
    },
  };
};

async function catchUp(s: EventStore): Promise<void> {
  const prefix = `cu-${randomUUID()}/`;
  for (let i = 0; i < EVENTS; i += 50) {
    await s.append(
      `${prefix}${(i / 50) % 100}`,
      Array.from({ length: 50 }, (_, j) => event(i + j)),
    );
  }
  const filter = { streamPrefix: prefix };
  for (let round = 0; round < 2; round++) {
    let before = snapshot();
    let start = performance.now();
    let n = 0;
    for await (const _ of readAll({ filter })) n++;
    const readMs = performance.now() - start;
    console.log(
      `readAll: ${n} events in ${readMs.toFixed(0)} ms (${((n / readMs) * 1000).toFixed(0)}/s)`,
      diff(before),
    );
    before = snapshot();
    calls.length = 0;
    start = performance.now();
    n = 0;
    const sub = s.subscribe({ filter, handler: () => void n++ });
    await sub.caughtUp;
    const subMs = performance.now() - start;
    await sub.stop();
    console.log(
      `subscription: ${n} events in ${subMs.toFixed(0)} ms (${((n / subMs) * 1000).toFixed(0)}/s, ratio ${(readMs / subMs).toFixed(2)}), ${calls.length} readAll calls`,
      diff(before),
    );
  }
}

/**
 * `writer` appends the probes, `writers` the background (worker k on `writers[k % length]`); `s` subscribes. Another
 * store on the same table has no wake signal; two writing stores commit at once, leaving holes in flight.
 */
async function live(s: EventStore, writer: EventStore = s, writers: EventStore[] = [writer]): Promise<void> {
  const probe = `lat-${randomUUID()}`;
  const seen = new Map<string, number>();
  const sub = s.subscribe({
    from: 'end',
    filter: { streamPrefix: probe },
    handler: (e: RecordedEvent) => void seen.set(e.id, performance.now()),
  });
  await sub.caughtUp;
  calls.length = 0;
  const before = snapshot();
  let stop = false;
  let appends = 0;
  const background = Promise.all(
    Array.from({ length: 8 }, async (_, w) => {
      for (let i = 0; !stop; i++) {
        await writers[w % writers.length]!.append(`bg-${w}-${i % 50}`, [event(i)]);
        appends++;
      }
    }),
  );
  const sent: Array<{ id: string; at: number; took: number }> = [];
  const end = performance.now() + SECONDS * 1000;
  for (let i = 0; performance.now() < end; i++) {
    const id = randomUUID();
    const t0 = performance.now();
    await writer.append(probe, [{ ...event(i), id }]);
    sent.push({ id, at: performance.now(), took: performance.now() - t0 });
    await new Promise((r) => setTimeout(r, 20));
  }
  stop = true;
  await background;
  const deadline = performance.now() + 30_000;
  while (seen.size < sent.length && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  await sub.stop();
  const lat = sent.map((x) => (seen.get(x.id) ?? Number.POSITIVE_INFINITY) - x.at).sort((a, b) => a - b);
  const took = sent.map((x) => x.took).sort((a, b) => a - b);
  const q = (a: number[], p: number) =>
    a[Math.min(a.length - 1, Math.floor((p / 100) * a.length))]!.toFixed(0);
  console.log(
    `live: ${sent.length} probes, latency p50/p99/max ${q(lat, 50)}/${q(lat, 99)}/${q(lat, 100)} ms; probe append p50/p99 ${q(took, 50)}/${q(took, 99)} ms; ${appends} background appends`,
  );
  const ms = calls.map((c) => c.ms).sort((a, b) => a - b);
  console.log(
    `live readAll calls: ${calls.length}, ms p50/p90/max ${q(ms, 50)}/${q(ms, 90)}/${q(ms, 100)}, with events ${calls.filter((c) => c.events > 0).length}`,
  );
  const requests = diff(before);
  console.log(
    'live requests',
    requests,
    'per second',
    Object.values(requests).reduce((a, b) => a + b, 0) / SECONDS,
  );
}

async function idle(s: EventStore): Promise<void> {
  const sub = s.subscribe({ from: 'end', handler: () => {} });
  await sub.caughtUp;
  await new Promise((r) => setTimeout(r, 3_000));
  const before = snapshot();
  await new Promise((r) => setTimeout(r, 10_000));
  const requests = diff(before);
  console.log(
    'idle requests over 10 s',
    requests,
    'per second',
    Object.values(requests).reduce((a, b) => a + b, 0) / 10,
  );
  await sub.stop();
}

try {
  const what = (process.env.PROFILE ?? 'catchup,live,idle').split(',');
  if (what.includes('live')) await live(store);
  if (what.includes('remote')) {
    // Another store on the same table, as another process would be: the subscription only polls.
    const other = new DynamoDBEventStore({ client, tableName: table });
    try {
      await live(store, other);
    } finally {
      await other.close();
    }
  }
  if (what.includes('multi')) {
    // Two other stores write, as two processes would: their commits overlap, so the log has holes in flight.
    const others = [0, 1].map(() => new DynamoDBEventStore({ client, tableName: table }));
    try {
      await live(store, others[0], others);
    } finally {
      for (const o of others) await o.close();
    }
    console.log('claims queries (holes met) are the "Query claims" count above');
  }
  if (what.includes('catchup')) await catchUp(store);
  if (what.includes('idle')) await idle(store);
} finally {
  await store.close();
  client.destroy();
  await local.stop();
}
