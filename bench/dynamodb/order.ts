/**
 * `npm run bench:dynamodb-order`: the DynamoDB global order, three designs side by side on DynamoDB Local, with
 * one process and with several processes appending to the same table at once (child processes, the case where
 * writers of different processes race for the same positions). A benchmark, not a test: it asserts nothing.
 *
 * - `claims`: an unconditional counter ADD, claims, fillers, holes, and the next group's positions taken during each
 *   transaction: from git (BENCH_BASELINE_REF, default cf51037) into .cache/;
 * - `claims-no-ahead`: the same with positions taken ahead switched off (its `#takeAhead` returns at once), which is
 *   the design this tree keeps;
 * - `head`: a log head updated in each commit's transaction under a condition on its old value, no claims or holes:
 *   from git (BENCH_HEAD_REF, default fd2c567, branch dynamo-log-head);
 * - `floor`: the naive unconditional BatchWriteItem (bench/dynamodb/floor.ts).
 *
 * Each append carries BENCH_EVENTS events (default "1,98": both workloads) with an exact expected version, to 200
 * streams per process. Rounds are interleaved (the order of designs rotates), BENCH_ROUNDS of BENCH_ROUND_MS each
 * after a warm-up. Writes bench/results/dynamodb-order.json. Figures are DynamoDB Local figures on this machine:
 * they compare designs, they say nothing of DynamoDB's own throughput.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const DESIGNS = ['floor', 'claims', 'claims-no-ahead', 'head'] as const;
type Design = (typeof DESIGNS)[number];
const STREAMS = 200;

interface ChildResult {
  appends: number;
  ms: number;
  requests: number;
  byOperation: Record<string, number>;
}

function clientFor(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Child: one process appending at a given concurrency for one round.

async function child(args: string[]): Promise<void> {
  const [design, endpoint, table, concurrencyText, eventsText, msText, tag] = args as [
    Design,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const concurrency = Number(concurrencyText);
  const size = Number(eventsText);
  const roundMs = Number(msText);
  const client = clientFor(endpoint);
  const counts = { requests: 0, byOperation: {} as Record<string, number> };
  client.middlewareStack.add(
    (next, context) => async (a) => {
      const op = String(context.commandName ?? 'unknown').replace(/Command$/, '');
      counts.requests++;
      counts.byOperation[op] = (counts.byOperation[op] ?? 0) + 1;
      return next(a);
    },
    { step: 'initialize', name: 'benchCount' },
  );
  const { prepareAppend } = await import('../../src/contract/index.js');
  const data = {
    orderId: randomUUID(),
    lines: [{ sku: 'ABC-123', qty: 2, price: 19.99 }],
    note: 'x'.repeat(120),
  };
  const events = () => Array.from({ length: size }, () => ({ type: 'OrderPlaced', data, id: randomUUID() }));
  let append: (stream: string, version: number) => Promise<void>;
  let close = async () => {};
  if (design === 'floor') {
    const { naiveFloor } = await import('./floor.js');
    const prepared = prepareAppend('x', events().slice(0, 1), undefined, {
      maxEventsPerAppend: 100,
      maxEventBytes: 400_000,
      maxAppendBytes: 4_000_000,
      idempotencyWindow: 20,
    }).events[0]!;
    const floor = naiveFloor(client, table, prepared);
    let k = 0;
    // One unconditional BatchWriteItem per 25 events (its limit), one after the other.
    append = async () => {
      for (let i = 0; i < size; i += 25) await floor(k++ % STREAMS, Math.min(25, size - i));
    };
  } else {
    const path = join(root, '.cache/bench-order', design, 'src/adapters/dynamodb/index.ts');
    const mod = (await import(path)) as typeof import('../../src/adapters/dynamodb/index.js');
    const store = mod.createDynamoDBEventStore({ client, tableName: table, autoCreate: false });
    append = async (stream, version) => {
      await store.append(stream, events(), { expectedVersion: version });
    };
    close = () => store.close();
  }
  const versions = new Map<string, number>();
  const run = async (ms: number) => {
    const t0 = performance.now();
    let done = 0;
    // Worker w owns its own streams, so exact appends never race each other.
    await Promise.all(
      Array.from({ length: concurrency }, async (_, w) => {
        for (let k = 0; performance.now() - t0 < ms; k++) {
          const stream = `${tag}-${process.pid}-${(w + concurrency * k) % STREAMS}`;
          const v = versions.get(stream) ?? 0;
          await append(stream, v);
          versions.set(stream, v + size);
          done++;
        }
      }),
    );
    return { done, ms: performance.now() - t0 };
  };
  await run(300); // load the code paths before the clock starts
  counts.requests = 0;
  counts.byOperation = {};
  process.stdout.write('ready\n');
  await new Promise<void>((go) => createInterface({ input: process.stdin }).once('line', () => go()));
  const { done, ms } = await run(roundMs);
  const result: ChildResult = {
    appends: done,
    ms,
    requests: counts.requests,
    byOperation: counts.byOperation,
  };
  await close();
  client.destroy();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

// ---------------------------------------------------------------------------------------------------------------
// Parent.

/** Each design's source, from git, once; `claims-no-ahead` is `claims` with positions ahead switched off. */
function extractDesigns(baseline: string, headRef: string): void {
  for (const design of ['claims', 'claims-no-ahead', 'head']) {
    const ref = design === 'head' ? headRef : baseline;
    const dir = join(root, '.cache/bench-order', design);
    const marker = join(dir, 'REF');
    if (existsSync(marker) && readFileSync(marker, 'utf8') === ref) continue;
    mkdirSync(dir, { recursive: true });
    execFileSync('sh', ['-c', `git -C "${root}" archive "${ref}" src | tar -x -C "${dir}"`]);
    if (design === 'claims-no-ahead') {
      const file = join(dir, 'src/adapters/dynamodb/committer.ts');
      const source = readFileSync(file, 'utf8');
      const guard = 'if (this.#ahead || this.#closing) return;';
      if (!source.includes(guard))
        throw new Error(`${ref}: cannot switch positions ahead off in committer.ts`);
      writeFileSync(file, source.replace(guard, 'return;'));
    }
    writeFileSync(marker, ref);
  }
}

function spawnChild(args: string[]): {
  proc: ChildProcess;
  ready: Promise<void>;
  result: Promise<ChildResult>;
} {
  const tsx = createRequire(import.meta.url).resolve('tsx/cli');
  const proc = spawn(process.execPath, [tsx, fileURLToPath(import.meta.url), '--child', ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: proc.stdout! });
  let markReady: () => void;
  const ready = new Promise<void>((r) => {
    markReady = r;
  });
  const result = new Promise<ChildResult>((resolveResult, reject) => {
    lines.on('line', (line) => {
      if (line === 'ready') markReady();
      else if (line.startsWith('{')) resolveResult(JSON.parse(line) as ChildResult);
    });
    proc.on('exit', (code) => {
      if (code !== 0) reject(new Error(`child ${args.join(' ')} exited with ${code}`));
    });
  });
  // A child that dies before it is ready fails the round instead of leaving it waiting.
  return { proc, ready: Promise.race([ready, result.then(() => undefined)]), result };
}

async function round(
  design: Design,
  endpoint: string,
  table: string,
  processes: number,
  size: number,
  ms: number,
): Promise<{ appendsPerSecond: number; requestsPerAppend: number; byOperation: Record<string, number> }> {
  const tag = `${design}-${randomUUID().slice(0, 6)}`;
  const children = Array.from({ length: processes }, () =>
    spawnChild([design, endpoint, table, '8', String(size), String(ms), tag]),
  );
  await Promise.all(children.map((c) => c.ready));
  for (const c of children) c.proc.stdin!.write('go\n');
  const results = await Promise.all(children.map((c) => c.result));
  const appends = results.reduce((s, r) => s + r.appends, 0);
  const seconds = Math.max(...results.map((r) => r.ms)) / 1000;
  const requests = results.reduce((s, r) => s + r.requests, 0);
  const byOperation: Record<string, number> = {};
  for (const r of results) {
    for (const [op, n] of Object.entries(r.byOperation)) byOperation[op] = (byOperation[op] ?? 0) + n;
  }
  for (const op of Object.keys(byOperation)) byOperation[op] = round2(byOperation[op]! / appends);
  return { appendsPerSecond: appends / seconds, requestsPerAppend: round2(requests / appends), byOperation };
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

async function parent(): Promise<void> {
  const roundMs = Number(process.env.BENCH_ROUND_MS ?? 3_000);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const sizes = (process.env.BENCH_EVENTS ?? '1,98').split(',').map(Number);
  const processCounts = (process.env.BENCH_PROCESSES ?? '1,4').split(',').map(Number);
  extractDesigns(process.env.BENCH_BASELINE_REF ?? 'cf51037', process.env.BENCH_HEAD_REF ?? 'fd2c567');
  const { startDynamoDBLocal } = await import('../../test/support/dynamodb-local.js');
  const { tableDefinition } = await import('../../src/adapters/dynamodb/table.js');
  const backend = await startDynamoDBLocal();
  if (backend.url.startsWith('unavailable:')) throw new Error(backend.url.slice('unavailable:'.length));
  const admin = clientFor(backend.url);
  const tables = Object.fromEntries(
    DESIGNS.map((d) => [d, `order-${d}-${randomUUID().slice(0, 6)}`]),
  ) as Record<Design, string>;
  for (const table of Object.values(tables)) await admin.send(new CreateTableCommand(tableDefinition(table)));
  admin.destroy();
  const samples: Record<string, number[]> = {};
  const requests: Record<string, { requestsPerAppend: number; byOperation: Record<string, number> }> = {};
  try {
    // DynamoDB Local is a JVM: its first seconds run interpreted, several times slower. Warm every path up.
    for (let w = 0; w < 2; w++) for (const d of DESIGNS) await round(d, backend.url, tables[d], 1, 1, 3_000);
    for (let r = 0; r < rounds; r++) {
      for (const size of sizes) {
        for (const processes of processCounts) {
          // Rotate the order of designs from round to round, so that no design always runs first or last.
          const order = DESIGNS.map((_, i) => DESIGNS[(i + r) % DESIGNS.length]!);
          for (const d of order) {
            const out = await round(d, backend.url, tables[d], processes, size, roundMs);
            const key = `${d} ${size} event${size === 1 ? '' : 's'}, ${processes} process${processes === 1 ? '' : 'es'} x c=8`;
            samples[key] = [...(samples[key] ?? []), out.appendsPerSecond];
            requests[key] = { requestsPerAppend: out.requestsPerAppend, byOperation: out.byOperation };
            console.log(
              `round ${r + 1} ${key}: ${out.appendsPerSecond.toFixed(0)} appends/s, ${out.requestsPerAppend} requests/append`,
            );
          }
        }
      }
    }
  } finally {
    await backend.stop();
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const summary: Record<string, unknown> = {};
  for (const size of sizes) {
    for (const processes of processCounts) {
      const caseName = `${size} event${size === 1 ? '' : 's'}, ${processes} process${processes === 1 ? '' : 'es'} x c=8`;
      const med = Object.fromEntries(DESIGNS.map((d) => [d, median(samples[`${d} ${caseName}`] ?? [0])]));
      const best = Math.max(...DESIGNS.filter((d) => d !== 'floor').map((d) => med[d]!));
      summary[caseName] = Object.fromEntries(
        DESIGNS.map((d) => {
          const key = `${d} ${caseName}`;
          const xs = samples[key] ?? [];
          return [
            d,
            {
              appendsPerSecond: Math.round(med[d]!),
              rounds: xs.map(Math.round),
              vsBestDesign: d === 'floor' ? null : round2(med[d]! / best),
              vsFloor: round2(med[d]! / med.floor!),
              ...requests[key],
            },
          ];
        }),
      );
    }
  }
  const out = {
    note: 'DynamoDB Local on this machine; compares designs, says nothing of DynamoDB throughput. Medians of interleaved rounds; requests per append from the last round.',
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version },
    roundMs,
    rounds,
    baseline: process.env.BENCH_BASELINE_REF ?? 'cf51037',
    head: process.env.BENCH_HEAD_REF ?? 'fd2c567',
    results: summary,
  };
  writeFileSync(join(root, 'bench/results/dynamodb-order.json'), `${JSON.stringify(out, null, 2)}\n`);
  console.log(JSON.stringify(summary, null, 2));
}

if (process.argv[2] === '--child') await child(process.argv.slice(3));
else await parent();
process.exit(0);
