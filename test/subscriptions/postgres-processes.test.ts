import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { PostgresEventStore } from '../../src/adapters/postgres/index.js';
import { createEventStore } from '../../src/index.js';
import { uniqueSchema } from '../adapters/postgres/support.js';
import { type StartedPostgres, startPostgres } from '../support/postgres-server.js';
import { jsonLines, spawnScript, stopChild } from '../support/processes/spawn.js';

/**
 * Named subscriptions in child processes on the rig's PostgreSQL server, killed with SIGKILL mid-run: the next
 * instance resumes from the stored checkpoint with nothing lost and at most one checkpoint interval (10 events)
 * redelivered; a standby takes over a dead instance's lease once it expires; a transactional read model holds
 * exactly one row per event.
 */
const LEASE_MS = 2_000;
const EVENTS = 300;
const DEADLINE_MS = 120_000;
const schema = uniqueSchema('subproc');
const children: ChildProcess[] = [];
// A server of its own: transactional handlers keep a transaction open most of the time, which would hold back
// readAll's horizon for the other files on the rig's shared server.
let server: StartedPostgres | undefined;
let url = '';
let pool: pg.Pool;

beforeAll(async () => {
  server = await startPostgres({ settings: { fsync: 'off' } });
  const u = new URL(server.url);
  u.searchParams.set('schema', schema);
  url = u.toString();
  pool = new pg.Pool({ connectionString: server.url, max: 2 });
  pool.on('error', () => {});
});

afterAll(async () => {
  await Promise.all(children.map((c) => stopChild(c, 'SIGKILL')));
  await pool?.end();
  await server?.stop();
});

interface Handled {
  id: string;
  position: bigint;
  at: number;
}

/** A subscriber child whose handled events are collected into `handled` as they are printed. */
function subscriber(name: string, prefix: string, mode: 'plain' | 'transactional') {
  const child = spawnScript('subscriber.ts', [url, name, prefix, mode, String(LEASE_MS)]);
  children.push(child);
  const handled: Handled[] = [];
  const lines = jsonLines(child);
  let failed: string | undefined;
  const ready = (async () => {
    const first = await lines.next();
    expect(first.value).toEqual({ ready: true });
    (async () => {
      for (;;) {
        const { value } = await lines.next();
        if (value.failed) failed = String(value.failed);
        const h = value.handled as { id: string; position: string } | undefined;
        if (h) handled.push({ id: h.id, position: BigInt(h.position), at: Date.now() });
      }
    })().catch(() => {});
  })();
  return { child, handled, ready, failed: () => failed };
}

async function until(condition: () => boolean, what: string, poll?: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    await poll?.();
    if (condition()) return;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function seed(prefix: string): Promise<string[]> {
  const store = (await createEventStore(url)) as PostgresEventStore;
  const ids: string[] = [];
  for (let i = 0; i < EVENTS / 10; i++) {
    const batch = Array.from({ length: 10 }, () => ({ type: 'T', data: { i }, id: randomUUID() }));
    await store.append(`${prefix}${i % 7}`, batch);
    ids.push(...batch.map((e) => e.id));
  }
  await store.close();
  return ids;
}

it('resumes after kill -9 with nothing lost, and a standby takes over the dead instance', {
  timeout: 300_000,
}, async () => {
  const prefix = `p${randomUUID().slice(0, 8)}/`;
  const name = `proc-${randomUUID()}`;
  const ids = await seed(prefix);
  const a = subscriber(name, prefix, 'plain');
  const b = subscriber(name, prefix, 'plain');
  await Promise.all([a.ready, b.ready]);
  await until(() => a.handled.length + b.handled.length >= 60, 'one instance to handle 60 events');
  const [active, standby] = a.handled.length > 0 ? [a, b] : [b, a];
  expect(standby.handled).toHaveLength(0);
  active.child.kill('SIGKILL');
  const killedAt = Date.now();
  await new Promise((r) => active.child.once('exit', r));
  const handledBefore = active.handled.map((h) => h.id);
  await until(() => standby.handled.some((h) => h.id === ids.at(-1)), 'the standby to reach the last event');
  const takeoverMs = standby.handled[0]!.at - killedAt;
  console.log(`takeover after kill -9: ${takeoverMs} ms (lease ${LEASE_MS} ms)`);
  expect(standby.failed()).toBeUndefined();
  const after = standby.handled.map((h) => h.id);
  // Nothing lost: every event handled by one or the other, the standby in order from where it resumed.
  expect(new Set([...handledBefore, ...after])).toEqual(new Set(ids));
  expect(after).toEqual(ids.slice(ids.indexOf(after[0]!)));
  // Redelivered: at most what was handled since the last checkpoint (every 10 events).
  const redelivered = after.filter((id) => handledBefore.includes(id));
  expect(redelivered.length).toBeLessThanOrEqual(10);
});

it('keeps a transactional read model exactly once across kill -9: rows equal events', {
  timeout: 300_000,
}, async () => {
  const prefix = `q${randomUUID().slice(0, 8)}/`;
  const name = `exact-${randomUUID()}`;
  const ids = await seed(prefix);
  await pool.query(`CREATE TABLE IF NOT EXISTS "${schema}".read_model (event_id uuid PRIMARY KEY)`);
  const first = subscriber(name, prefix, 'transactional');
  await first.ready;
  await until(() => first.handled.length >= 80, '80 events');
  first.child.kill('SIGKILL');
  await new Promise((r) => first.child.once('exit', r));
  const second = subscriber(name, prefix, 'transactional');
  await second.ready;
  await until(() => second.handled.some((h) => h.id === ids.at(-1)), 'the last event');
  const last = second.handled.find((h) => h.id === ids.at(-1))!.position;
  const checkpoint = async (): Promise<bigint | undefined> => {
    const { rows: cp } = await pool.query(
      `SELECT position::text AS p FROM "${schema}".subscription_checkpoints WHERE name = $1`,
      [name],
    );
    return cp[0] ? BigInt(cp[0].p) : undefined;
  };
  // The last handler's transaction commits the checkpoint with its row.
  let reached = false;
  await until(
    () => reached,
    'the checkpoint to reach the last event',
    async () => {
      reached = (await checkpoint()) === last;
    },
  );
  expect(second.failed()).toBeUndefined();
  await stopChild(second.child);
  const { rows } = await pool.query(
    `SELECT count(*)::int AS n FROM "${schema}".read_model r JOIN "${schema}".events e ON e.id = r.event_id
      WHERE starts_with(e.stream_id, $1)`,
    [prefix],
  );
  expect(rows[0].n).toBe(EVENTS);
  expect(await checkpoint()).toBe(last);
});
