import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createEventStore, type EventStore } from '../../../src/index.js';
import { startDynamoDBLocal } from '../../support/dynamodb-local.js';
import { checkAgainstAttempts, runWriters } from '../../support/fault-workload.js';
import { freePort } from '../../support/free-port.js';

/**
 * Concurrent writers with retries while DynamoDB Local is killed with SIGKILL and restarted on the same port and
 * database file (`-dbPath`, so the data outlives the process). Checked against the acknowledged appends:
 * none lost, none duplicated, versions contiguous, readAll positions strictly increasing (holes a killed request
 * left are filled after `holeTimeoutMs`); unacknowledged appends whole or absent.
 */
const RUN_MS = 12_000;

let dbPath = '';
let port = 0;
let local: { url: string; pid?: number; stop: () => Promise<void> } | undefined;
/** A restart in progress: awaited before teardown, so a test that times out mid-restart leaves no JVM behind. */
let restarting: Promise<void> | undefined;

beforeAll(async () => {
  dbPath = await mkdtemp(join(tmpdir(), 'eventstore-ddb-'));
  port = await freePort();
  local = await startDynamoDBLocal({ own: true, dbPath, port });
});

afterAll(async () => {
  await restarting?.catch(() => {});
  await local?.stop();
  await rm(dbPath, { recursive: true, force: true });
});

function killAndRestart(): Promise<void> {
  restarting = (async () => {
    process.kill(local!.pid!, 'SIGKILL');
    await local!.stop();
    local = await startDynamoDBLocal({ own: true, dbPath, port });
  })();
  return restarting;
}

it('loses and duplicates nothing when DynamoDB Local is killed and restarted under concurrent retrying writers', async () => {
  const params = new URLSearchParams({
    region: 'us-east-1',
    endpoint: local!.url,
    timeout_ms: '5000',
    connect_timeout_ms: '1000',
  });
  const store: EventStore = await createEventStore(
    `dynamodb://faults-${randomUUID().slice(0, 8)}?${params}`,
    {
      holeTimeoutMs: 1_000,
    },
  );
  await store.streamVersion('create-the-table');
  const unexpected: unknown[] = [];
  const failures: Record<string, number> = {};
  let stop = false;
  let kills = 0;
  let restartMs = 0;
  const chaos = (async () => {
    const start = Date.now();
    for (const at of [RUN_MS / 3]) {
      await new Promise((r) => setTimeout(r, Math.max(0, start + at - Date.now())));
      const t = Date.now();
      await killAndRestart();
      kills++;
      restartMs = Date.now() - t;
    }
    await new Promise((r) => setTimeout(r, Math.max(0, start + RUN_MS - Date.now())));
    stop = true;
  })();
  try {
    const [attempts] = await Promise.all([
      runWriters({
        store: () => store,
        writers: 6,
        streamsPerWriter: 4,
        stop: () => stop,
        unexpected,
        failures,
        backoffMs: 100,
      }),
      chaos,
    ]);
    expect(unexpected).toEqual([]);
    const counts = await checkAgainstAttempts(store, attempts, 20_000);
    console.info(
      `DynamoDB Local faults: ${counts.acknowledged} acknowledged appends (${counts.events} events), ` +
        `${counts.unacknowledged} unacknowledged (${counts.unacknowledgedPresent} present whole), ${kills} kill (restart took ${restartMs} ms), ` +
        `failed attempts retried ${JSON.stringify(failures)}; 0 lost, 0 duplicated`,
    );
    expect(kills).toBe(1);
    expect(Object.values(failures).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(counts.acknowledged).toBeGreaterThan(10);
  } finally {
    stop = true;
    await chaos.catch(() => {});
    await store.close();
  }
  // The JVM's restart takes about 5 s on a quiet machine and 30 s on a loaded one; the rest runs in about 20 s.
}, 120_000);
