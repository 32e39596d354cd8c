import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createEventStore, type EventStore, type NewEvent, type RecordedEvent } from '../../../src/index.js';
import { startDynamoDBLocal } from '../../support/dynamodb-local.js';
import { freeze, timed } from '../../support/freeze.js';

/**
 * A DynamoDB Local this file starts for itself (the rig's is shared with the files running beside it), frozen with
 * SIGSTOP: the JVM stops answering while the kernel still accepts connections, as when a server hangs.
 */
const DEADLINE_MS = 1_500;
const CONNECT_MS = 1_000;
/** Above the deadline: a loaded machine's timers and the fast failures retried before the last attempt. */
const SLACK_MS = 1_500;

let local: { url: string; pid?: number; stop: () => Promise<void> } | undefined;

function storeUrl(table: string): string {
  const params = new URLSearchParams({
    region: 'us-east-1',
    endpoint: local!.url,
    timeout_ms: String(DEADLINE_MS),
    connect_timeout_ms: String(CONNECT_MS),
  });
  return `dynamodb://${table}?${params}`;
}

beforeAll(async () => {
  local = await startDynamoDBLocal({ own: true });
  expect(local.pid).toBeGreaterThan(1);
});

afterAll(async () => {
  await local?.stop();
});

function events(n: number): NewEvent[] {
  return Array.from({ length: n }, (_, i) => ({ type: 'Frozen', data: { i }, id: randomUUID() }));
}

async function drain(it: AsyncIterable<unknown>): Promise<number> {
  let n = 0;
  for await (const _ of it) n++;
  return n;
}

it('a frozen DynamoDB Local fails append, streamVersion, readAll and a new store with TIMEOUT within the deadline, and the same store works after SIGCONT', async () => {
  const table = `frozen-${randomUUID().slice(0, 8)}`;
  // The table first, on the default deadline: a JVM that just started can take longer than 1.5 s to create it.
  const creator = await createEventStore(
    storeUrl(table).replace(/&timeout_ms=[0-9]+&connect_timeout_ms=[0-9]+/, ''),
  );
  await creator.streamVersion('warm-up');
  await creator.close();
  // A short hole timeout: a position counter increment the frozen server applied leaves a hole readAll fills.
  const store: EventStore = await createEventStore(storeUrl(table), { holeTimeoutMs: 1_000 });
  const stream = `frozen-${randomUUID()}`;
  try {
    await store.append(stream, events(2));
    expect(await drain(store.readAll())).toBe(2);

    const pending = events(3);
    const thaw = freeze(local!.pid!);
    let outcomes: Record<string, { ms: number; error: unknown }>;
    try {
      const [append, version, readAll, open] = await Promise.all([
        timed(store.append(stream, pending, { expectedVersion: 2 })),
        timed(store.streamVersion(stream)),
        timed(drain(store.readAll())),
        // A DynamoDB store opens lazily: its first call checks (or creates) the table.
        timed(
          createEventStore(storeUrl(`frozen-new-${randomUUID().slice(0, 8)}`)).then((fresh) =>
            fresh.streamVersion('first-call').finally(() => fresh.close()),
          ),
        ),
      ]);
      outcomes = { append: append!, streamVersion: version!, readAll: readAll!, createEventStore: open! };
    } finally {
      thaw();
    }
    for (const [name, outcome] of Object.entries(outcomes)) {
      expect(outcome.error, name).toMatchObject({ code: 'TIMEOUT' });
      expect(outcome.ms, name).toBeLessThan(DEADLINE_MS + SLACK_MS);
    }
    expect((outcomes.append!.error as Error).message).toMatch(/may or may not have been applied/);
    console.info(
      `DynamoDB Local frozen (deadline ${DEADLINE_MS} ms, connect ${CONNECT_MS} ms): ${Object.entries(
        outcomes,
      )
        .map(([name, o]) => `${name} ${Math.round(o.ms)} ms`)
        .join(', ')}`,
    );

    const retried = await store.append(stream, pending, { expectedVersion: 2 });
    expect(retried.nextExpectedVersion).toBe(5);
    expect(await store.streamVersion(stream)).toBe(5);
    // The frozen append may have taken positions (the counter increment is applied when the server resumes) and
    // left a hole; readAll ends at a hole, and a tailing reader calls again until it is filled (holeTimeoutMs).
    const all: RecordedEvent[] = [];
    const until = Date.now() + 15_000;
    while (all.length < 5 && Date.now() < until) {
      for await (const e of store.readAll({ after: all.at(-1)?.position ?? 0n })) all.push(e);
      if (all.length < 5) await new Promise((r) => setTimeout(r, 100));
    }
    expect(all.map((e) => e.version)).toEqual([1, 2, 3, 4, 5]);
    expect(all.slice(2).map((e) => e.id)).toEqual(pending.map((e) => e.id));
  } finally {
    await store.close();
  }
});

it('rejects bad timeout_ms / connect_timeout_ms values and options with INVALID_ARGUMENT', async () => {
  for (const query of ['timeout_ms=0', 'timeout_ms=abc', 'connect_timeout_ms=-1', 'timeout_ms=99999999']) {
    await expect(
      createEventStore(`dynamodb://tbl?region=us-east-1&endpoint=${encodeURIComponent(local!.url)}&${query}`),
      query,
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', argument: 'url' });
  }
  for (const options of [
    { timeoutMs: 0 },
    { connectTimeoutMs: '5' },
    { timeoutMs: Number.POSITIVE_INFINITY },
  ]) {
    await expect(
      createEventStore(`dynamodb://tbl?region=us-east-1&endpoint=${encodeURIComponent(local!.url)}`, options),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  }
});
