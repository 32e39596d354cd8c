import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createEventStore, type EventStore, type NewEvent } from '../../../src/index.js';
import { freeze, timed } from '../../support/freeze.js';
import { jsonLines, spawnScript, stopChild } from '../../support/processes/spawn.js';

/**
 * No EventStoreDB server runs here, so the emulator runs in a process of its own and is frozen with SIGSTOP: its
 * gRPC server stops answering while the kernel still holds the connection open, as with a hung server. What this
 * verifies is the client side (deadlines, gRPC keepalive) against a frozen gRPC peer, not a real server's behaviour.
 */
const DEADLINE_MS = 1_500;
const SLACK_MS = 1_500;
/** The client's gRPC keepalive (keepAliveInterval + keepAliveTimeout, 10 s each by default) and a loaded machine. */
const KEEPALIVE_DETECTION_MS = 20_000 + 5_000;

let child: ChildProcess | undefined;
let url = '';

beforeAll(async () => {
  child = spawnScript('esdb-emulator.ts');
  const first = await jsonLines(child).next();
  url = String(first.value.url);
});

afterAll(async () => {
  if (child) await stopChild(child);
});

function storeUrl(): string {
  return `${url}&timeout_ms=${DEADLINE_MS}`;
}

function events(n: number): NewEvent[] {
  return Array.from({ length: n }, (_, i) => ({ type: 'Frozen', data: { i }, id: randomUUID() }));
}

it('a frozen emulator process fails an append with TIMEOUT within the deadline, reads within the keepalive detection time, and the same store works after SIGCONT', async () => {
  const store: EventStore = await createEventStore(storeUrl());
  const stream = `frozen-${randomUUID()}`;
  try {
    await store.append(stream, events(2));
    expect(await store.streamVersion(stream)).toBe(2);

    const pending = events(3);
    const thaw = freeze(child!.pid!);
    let outcomes: Record<string, { ms: number; error: unknown }>;
    try {
      const [append, version] = await Promise.all([
        timed(store.append(stream, pending, { expectedVersion: 2 })),
        timed(store.streamVersion(stream)),
      ]);
      outcomes = { append: append!, streamVersion: version! };
    } finally {
      thaw();
    }
    console.info(
      `EventStoreDB emulator process frozen (deadline ${DEADLINE_MS} ms): ${Object.entries(outcomes)
        .map(([name, o]) => `${name} ${Math.round(o.ms)} ms ${(o.error as { code?: string })?.code}`)
        .join(', ')}`,
    );
    // Unary calls carry the client's gRPC deadline (timeout_ms).
    expect(outcomes.append!.error).toMatchObject({ code: 'TIMEOUT' });
    expect(outcomes.append!.ms).toBeLessThan(DEADLINE_MS + SLACK_MS);
    // The same advice whichever deadline passed first, the gRPC call's or the store's.
    expect((outcomes.append!.error as Error).message).toMatch(
      /may or may not have been applied: retry it with the same event ids/,
    );
    // The client's streaming reads carry no gRPC deadline: the store's own deadline (TIMEOUT) or, at the latest,
    // gRPC keepalive (UNAVAILABLE) ends them.
    expect(['TIMEOUT', 'UNAVAILABLE']).toContain((outcomes.streamVersion!.error as { code?: string })?.code);
    expect(outcomes.streamVersion!.ms).toBeLessThan(KEEPALIVE_DETECTION_MS);

    const retried = await store.append(stream, pending, { expectedVersion: 2 });
    expect(retried.nextExpectedVersion).toBe(5);
    expect(await store.streamVersion(stream)).toBe(5);
  } finally {
    await store.close();
  }
}, 60_000);

it('rejects a bad timeout_ms, and timeout_ms given together with the client’s defaultDeadline, with INVALID_ARGUMENT', async () => {
  for (const query of ['timeout_ms=0', 'timeout_ms=x', 'timeout_ms=1000&defaultDeadline=500']) {
    await expect(createEventStore(`${url}&${query}`), query).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      argument: 'url',
    });
  }
  await expect(createEventStore(`${url}&defaultDeadline=500`, { timeoutMs: 1000 })).rejects.toMatchObject({
    code: 'INVALID_ARGUMENT',
  });
  await expect(createEventStore(url, { timeoutMs: -1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  const store = await createEventStore(`${url}&defaultDeadline=5000`);
  await store.close();
});
