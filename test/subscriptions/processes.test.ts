import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { skipUnlessCapable } from '../../src/conformance/support.js';
import { createEventStore, type EventStore } from '../../src/index.js';
import { dynamodbUrl, rawClient, tableName } from '../adapters/dynamodb/support.js';
import { uniqueSchema } from '../adapters/postgres/support.js';
import { type StartedPostgres, startPostgres } from '../support/postgres-server.js';
import { jsonLines, spawnScript, stopChild } from '../support/processes/spawn.js';

/**
 * Named subscriptions in child processes (test/support/processes/subscriber.ts), killed with SIGKILL mid-run, on
 * every backend that more than one process can share: a PostgreSQL server, DynamoDB Local and the EventStoreDB
 * emulator (a gRPC server on a loopback port, reached by URL). PGlite is one process, so it has no such test.
 *
 * (a) A new instance resumes from the stored checkpoint: nothing lost, at most one checkpoint interval (10 events)
 *     redelivered.
 * (b) Two instances of one name: exactly one handles events; after a kill -9 of that one, the other takes over
 *     within the documented bound (`leaseMs` + one retry interval, min(1 s, leaseMs / 4)) plus a margin for a
 *     loaded machine, and nothing is lost.
 * (c) Where the adapter declares transactionalSubscriptions: a read model written in the checkpoint's transaction
 *     holds exactly one row per event after a kill -9 and a resume.
 */
const LEASE_MS = 3_000;
/** The documented takeover bound after a crash: the lease runs out, then the standby's next try. */
const TAKEOVER_BOUND_MS = LEASE_MS + Math.min(1_000, LEASE_MS / 4);
/** Room for a loaded two-core machine: scheduling delays of the children, the backends and this process. */
const TAKEOVER_MARGIN_MS = 15_000;
const CHECKPOINT_EVERY = 10;
const EVENTS = 300;
const DEADLINE_MS = 150_000;

interface Backend {
  /** The store URL the children and this file open. */
  url: string;
  /** The number of read-model rows that hold an event of `prefix`, written by the `transactional` child. */
  readModelRows?: (name: string, prefix: string) => Promise<number>;
  /** Prepares the read model (e.g. creates its table) before a `transactional` child starts. */
  prepareReadModel?: () => Promise<void>;
}

interface Fixture {
  setup: () => Promise<Backend>;
  teardown?: () => Promise<void>;
}

const postgres = (): Fixture => {
  const schema = uniqueSchema('subproc');
  // A server of its own: transactional handlers keep a transaction open most of the time, which would hold back
  // readAll's horizon for the other files on the rig's shared server.
  let server: StartedPostgres | undefined;
  let pool: pg.Pool | undefined;
  return {
    setup: async () => {
      server = await startPostgres({ settings: { fsync: 'off' } });
      const u = new URL(server.url);
      u.searchParams.set('schema', schema);
      const p = new pg.Pool({ connectionString: server.url, max: 2 });
      p.on('error', () => {});
      pool = p;
      return {
        url: u.toString(),
        prepareReadModel: async () => {
          await p.query(`CREATE TABLE IF NOT EXISTS "${schema}".read_model (event_id uuid PRIMARY KEY)`);
        },
        readModelRows: async (_name, prefix) => {
          const { rows } = await p.query(
            `SELECT count(*)::int AS n FROM "${schema}".read_model r
               JOIN "${schema}".events e ON e.id = r.event_id WHERE starts_with(e.stream_id, $1)`,
            [prefix],
          );
          return rows[0].n as number;
        },
      };
    },
    teardown: async () => {
      await pool?.end();
      await server?.stop();
    },
  };
};

const dynamodb = (): Fixture => {
  const table = tableName('subproc');
  let client: ReturnType<typeof rawClient> | undefined;
  return {
    setup: async () => {
      const c = rawClient();
      client = c;
      return {
        url: dynamodbUrl(table),
        readModelRows: async (name) => {
          let count = 0;
          let start: Record<string, never> | undefined;
          do {
            const out = await c.send(
              new QueryCommand({
                TableName: table,
                KeyConditionExpression: 'pk = :pk',
                ExpressionAttributeValues: { ':pk': { S: `MODEL#${name}` } },
                Select: 'COUNT',
                ConsistentRead: true,
                ExclusiveStartKey: start,
              }),
            );
            count += out.Count ?? 0;
            start = out.LastEvaluatedKey as Record<string, never> | undefined;
          } while (start !== undefined);
          return count;
        },
      };
    },
    teardown: async () => {
      client?.destroy();
    },
  };
};

const esdb = (): Fixture => ({ setup: async () => ({ url: inject('esdbUrl') }) });

const fixtures: Array<[string, () => Fixture]> = [
  ['postgres (server)', postgres],
  ['dynamodb (DynamoDB Local)', dynamodb],
  ['eventstoredb (emulator)', esdb],
];

interface Handled {
  id: string;
  position: bigint;
  /** When the child handled it, by the child's clock (the same machine's). */
  at: number;
}

async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Where `got` first differs from `want` (both event ids), by index and position, or undefined when they are equal:
 * a failure then says which events came out of order, twice, or not at all.
 */
function firstDifference(got: string[], want: string[], positions: Map<string, bigint>): string | undefined {
  const at = (ids: string[], i: number) =>
    i < ids.length ? String(positions.get(ids[i]!) ?? ids[i]) : 'none';
  for (let i = 0; i < Math.max(got.length, want.length); i++) {
    if (got[i] !== want[i]) {
      const near = (ids: string[]) => [i - 1, i, i + 1].map((k) => (k < 0 ? '-' : at(ids, k))).join(', ');
      return `at index ${i} of ${got.length} (want ${want.length}): positions got [${near(got)}], want [${near(want)}]`;
    }
  }
  return undefined;
}

for (const [label, fixture] of fixtures) {
  describe(`subscriptions across processes: ${label}`, () => {
    const f = fixture();
    const children: ChildProcess[] = [];
    let backend: Backend;
    let store: EventStore;

    beforeAll(async () => {
      backend = await f.setup();
      store = await createEventStore(backend.url);
    });

    afterAll(async () => {
      await Promise.all(children.map((c) => stopChild(c, 'SIGKILL')));
      await store?.close();
      await f.teardown?.();
    });

    /** A subscriber child; its handled events are collected into `handled` as they are printed. */
    function subscriber(name: string, prefix: string, mode: 'plain' | 'transactional') {
      const child = spawnScript('subscriber.ts', [backend.url, name, prefix, mode, String(LEASE_MS)]);
      children.push(child);
      const handled: Handled[] = [];
      const lines = jsonLines(child);
      let failed: string | undefined;
      let ended!: Promise<void>;
      const ready = (async () => {
        const first = await lines.next();
        expect(first.value).toEqual({ ready: true });
        // Ends when the child's output does: every line it wrote before it died is in `handled` by then.
        ended = (async () => {
          for (;;) {
            const { value } = await lines.next();
            if (value.failed) failed = String(value.failed);
            const h = value.handled as { id: string; position: string; at: number } | undefined;
            if (h) handled.push({ id: h.id, position: BigInt(h.position), at: h.at });
          }
        })().catch(() => {});
      })();
      /** SIGKILL; resolves once every line the child wrote has been read. Returns when it was sent. */
      const kill = async (): Promise<number> => {
        const at = Date.now();
        child.kill('SIGKILL');
        await ended;
        return at;
      };
      return { child, handled, ready, kill, failed: () => failed };
    }

    async function seed(
      prefix: string,
    ): Promise<{ ids: string[]; last: bigint; positions: Map<string, bigint> }> {
      const ids: string[] = [];
      let last = 0n;
      for (let i = 0; i < EVENTS / 10; i++) {
        const batch = Array.from({ length: 10 }, () => ({ type: 'T', data: { i }, id: randomUUID() }));
        const r = await store.append(`${prefix}${i % 7}`, batch);
        ids.push(...batch.map((e) => e.id));
        last = r.lastPosition!;
      }
      const positions = new Map<string, bigint>();
      for await (const e of store.readAll({ filter: { streamPrefix: prefix } }))
        positions.set(e.id, e.position);
      return { ids, last, positions };
    }

    it('(a) a new instance resumes after kill -9: nothing lost, at most one checkpoint interval again', {
      timeout: 300_000,
    }, async () => {
      const prefix = `a${randomUUID().slice(0, 8)}/`;
      const name = `resume-${randomUUID()}`;
      const { ids, positions } = await seed(prefix);
      const first = subscriber(name, prefix, 'plain');
      await first.ready;
      await until(() => first.handled.length >= 80, 'the first instance to handle 80 events');
      await first.kill();
      const before = first.handled.map((h) => h.id);
      expect(before.length).toBeLessThan(EVENTS);
      expect(first.failed()).toBeUndefined();

      const second = subscriber(name, prefix, 'plain');
      await second.ready;
      await until(
        () => second.handled.some((h) => h.id === ids.at(-1)),
        'the new instance to reach the last event',
      );
      expect(second.failed()).toBeUndefined();
      const after = second.handled.map((h) => h.id);
      // The first instance handled a prefix of the events in order; the second goes on in order from its checkpoint.
      expect(firstDifference(before, ids.slice(0, before.length), positions)).toBeUndefined();
      expect(firstDifference(after, ids.slice(ids.indexOf(after[0]!)), positions)).toBeUndefined();
      expect(new Set([...before, ...after])).toEqual(new Set(ids));
      const redelivered = after.filter((id) => before.includes(id));
      expect(redelivered.length).toBeLessThanOrEqual(CHECKPOINT_EVERY);
      await stopChild(second.child);
    });

    it('(b) one of two instances handles; after kill -9 of it, the other takes over within the lease bound', {
      timeout: 300_000,
    }, async () => {
      const prefix = `b${randomUUID().slice(0, 8)}/`;
      const name = `takeover-${randomUUID()}`;
      const { ids, positions } = await seed(prefix);
      const a = subscriber(name, prefix, 'plain');
      const b = subscriber(name, prefix, 'plain');
      await Promise.all([a.ready, b.ready]);
      await until(() => a.handled.length + b.handled.length >= 60, 'one instance to handle 60 events');
      const [active, standby] = a.handled.length > 0 ? [a, b] : [b, a];
      expect(standby.handled).toHaveLength(0);
      const killedAt = await active.kill();
      const before = active.handled.map((h) => h.id);
      expect(before.length).toBeLessThan(EVENTS);

      await until(
        () => standby.handled.some((h) => h.id === ids.at(-1)),
        'the standby to reach the last event',
      );
      expect(standby.failed()).toBeUndefined();
      const after = standby.handled.map((h) => h.id);
      // Exactly one at a time: the standby handled nothing until the active instance was dead.
      expect(standby.handled[0]!.at).toBeGreaterThanOrEqual(active.handled.at(-1)!.at);
      expect(standby.handled[0]!.at).toBeGreaterThanOrEqual(killedAt);
      const takeoverMs = standby.handled[0]!.at - killedAt;
      console.log(
        `${label}: takeover after kill -9 in ${takeoverMs} ms (bound ${TAKEOVER_BOUND_MS} ms + ${TAKEOVER_MARGIN_MS} ms margin)`,
      );
      expect(takeoverMs).toBeLessThanOrEqual(TAKEOVER_BOUND_MS + TAKEOVER_MARGIN_MS);
      expect(firstDifference(before, ids.slice(0, before.length), positions)).toBeUndefined();
      expect(firstDifference(after, ids.slice(ids.indexOf(after[0]!)), positions)).toBeUndefined();
      expect(new Set([...before, ...after])).toEqual(new Set(ids));
      expect(after.filter((id) => before.includes(id)).length).toBeLessThanOrEqual(CHECKPOINT_EVERY);
      await stopChild(standby.child);
    });

    it('(c) a transactional read model holds exactly one row per event after kill -9 and a resume', {
      timeout: 300_000,
    }, async (ctx) => {
      skipUnlessCapable(
        ctx,
        store.capabilities.transactionalSubscriptions === true,
        'transactionalSubscriptions',
      );
      const rows = backend.readModelRows;
      if (rows === undefined)
        throw new Error(`${label} declares transactional subscriptions but has no read model here`);
      await backend.prepareReadModel?.();
      const prefix = `c${randomUUID().slice(0, 8)}/`;
      const name = `exact-${randomUUID()}`;
      const { ids, last } = await seed(prefix);
      const first = subscriber(name, prefix, 'transactional');
      await first.ready;
      await until(() => first.handled.length >= 80, 'the first instance to handle 80 events');
      await first.kill();
      expect(first.handled.length).toBeLessThan(EVENTS);

      const second = subscriber(name, prefix, 'transactional');
      await second.ready;
      await until(
        () => second.handled.some((h) => h.id === ids.at(-1)),
        'the new instance to reach the last event',
      );
      // The last event's transaction commits its row and the checkpoint together.
      await until(
        async () => (await store.checkpoints.load(name)) === last,
        'the checkpoint to reach the last event',
      );
      expect(second.failed()).toBeUndefined();
      await stopChild(second.child);
      expect(await rows(name, prefix)).toBe(EVENTS);
      expect(await store.checkpoints.load(name)).toBe(last);
    });
  });
}
