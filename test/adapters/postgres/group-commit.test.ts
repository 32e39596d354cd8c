import { randomUUID } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import { describe, expect, it } from 'vitest';
import {
  createPgliteEventStore,
  createPostgresEventStore,
  type PostgresEventStore,
} from '../../../src/adapters/postgres/index.js';
import { ORDINAL_BITS } from '../../../src/adapters/postgres/positions.js';
import { createEventStore, type NewEvent, type RecordedEvent } from '../../../src/index.js';
import { serverUrl, testPool, uniqueSchema, untilReadAllReaches, useServerStore } from './support.js';

const fixture = useServerStore('group');

function events(n: number, type = 'Grouped'): NewEvent[] {
  return Array.from({ length: n }, (_, i) => ({ type, data: { i }, id: randomUUID() }));
}

async function settle<T>(p: Promise<T>): Promise<{ ok: T } | { err: unknown }> {
  return p.then(
    (ok) => ({ ok }),
    (err: unknown) => ({ err }),
  );
}

async function collect(it: AsyncIterable<RecordedEvent>): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
}

/**
 * Waits until the committer has freed the slot of the last append: it does so in a `setImmediate` queued while that
 * append settled, so two turns of the check phase are enough.
 */
async function slotFreed(): Promise<void> {
  for (let i = 0; i < 2; i++) await new Promise((resolve) => setImmediate(resolve));
}

const txOf = (position: bigint | null) => (position === null ? null : position >> BigInt(ORDINAL_BITS));

/**
 * With one transaction in flight (the default), the first append goes alone at once and the appends submitted
 * while it runs queue: they are the next transaction, together.
 */
async function mixedGroup(store: PostgresEventStore): Promise<void> {
  const p = randomUUID().slice(0, 8);
  const [existing, other, exact, fresh, absent, opener] = [
    `existing-${p}`,
    `other-${p}`,
    `exact-${p}`,
    `fresh-${p}`,
    `absent-${p}`,
    `opener-${p}`,
  ];
  const stored = events(2);
  await store.append(existing, stored);
  await store.append(other, events(1));
  await store.append(exact, events(1));
  await slotFreed();
  const before = store.commitTransactions;

  const first = store.append(opener, events(1));
  const group = [
    store.append(fresh, events(1), { expectedVersion: 'no_stream' }), // 0: a new stream
    store.append(fresh, events(2), { expectedVersion: 1 }), // 1: the same stream again, after 0
    store.append(existing, events(1), { expectedVersion: 'no_stream' }), // 2: conflict
    store.append(existing, stored), // 3: an 'any' retry of the stored batch
    store.append(other, events(1)), // 4: 'any' on an existing stream
    store.append(other, [], { expectedVersion: 2 }), // 5: empty, after 4
    store.append(absent, events(1), { expectedVersion: 'stream_exists' }), // 6: conflict
    store.append(exact, events(3), { expectedVersion: 1 }), // 7: exact, on an existing stream
    store.append(existing, events(1), { expectedVersion: 1 }), // 8: conflict, exact but stale
  ].map(settle);
  const results = await Promise.all(group);
  await first;
  // The opener alone, then one transaction for the nine.
  expect(store.commitTransactions - before).toBe(2);

  const ok = (i: number) => {
    const r = results[i]!;
    if (!('ok' in r)) throw new Error(`append ${i} failed: ${String(r.err)}`);
    return r.ok;
  };
  expect(ok(0).nextExpectedVersion).toBe(1);
  expect(ok(1).nextExpectedVersion).toBe(3);
  expect(results[2]).toMatchObject({ err: { code: 'WRONG_EXPECTED_VERSION', actualVersion: 2 } });
  const storedEvents = await collect(store.readStream(existing));
  expect(ok(3)).toEqual({ nextExpectedVersion: 2, lastPosition: storedEvents[1]!.position });
  expect(ok(4).nextExpectedVersion).toBe(2);
  expect(ok(5)).toEqual({ nextExpectedVersion: 2, lastPosition: null });
  expect(results[6]).toMatchObject({ err: { code: 'WRONG_EXPECTED_VERSION', actualVersion: 0 } });
  expect(ok(7).nextExpectedVersion).toBe(4);
  expect(results[8]).toMatchObject({ err: { code: 'WRONG_EXPECTED_VERSION', actualVersion: 2 } });

  // Everything the group wrote shares one transaction, and positions follow versions within each stream.
  const written = [0, 1, 4, 7].map((i) => ok(i).lastPosition);
  expect(new Set(written.map(txOf)).size).toBe(1);
  expect(ok(0).lastPosition! < ok(1).lastPosition!).toBe(true);
  for (const id of [fresh, other, exact, existing]) {
    const read = await collect(store.readStream(id));
    expect(read.map((e) => e.version)).toEqual(read.map((_, i) => i + 1));
    for (let i = 1; i < read.length; i++) expect(read[i]!.position > read[i - 1]!.position).toBe(true);
  }
  expect(await store.streamVersion(fresh)).toBe(3);
  expect(await store.streamVersion(existing)).toBe(2);
  expect(await store.streamVersion(absent)).toBe(0);
}

describe('group commit', () => {
  it('gives each append in a group its own outcome, as if it ran alone (real server)', async () => {
    await mixedGroup(fixture.store);
  });

  it('gives each append in a group its own outcome, as if it ran alone (PGlite)', async () => {
    const db = new PGlite();
    try {
      await mixedGroup(await createPgliteEventStore(db));
    } finally {
      await db.close();
    }
  });

  it('groups concurrent appends under load, and readAll returns every event once in increasing positions', async () => {
    const prefix = `load-${randomUUID().slice(0, 8)}-`;
    const before = fixture.store.commitTransactions;
    const appends = 400;
    let last = 0n;
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        for (let k = w; k < appends; k += 8) {
          const { lastPosition } = await fixture.store.append(`${prefix}${k % 20}`, events(1));
          if (lastPosition! > last) last = lastPosition!;
        }
      }),
    );
    const transactions = fixture.store.commitTransactions - before;
    expect(transactions).toBeLessThan(appends / 2);
    await untilReadAllReaches(fixture.pool, last);
    const read = await collect(fixture.store.readAll({ filter: { streamPrefix: prefix } }));
    expect(read).toHaveLength(appends);
    for (let i = 1; i < read.length; i++) expect(read[i]!.position > read[i - 1]!.position).toBe(true);
    for (let s = 0; s < 20; s++) {
      const versions = read.filter((e) => e.streamId === `${prefix}${s}`).map((e) => e.version);
      expect(versions).toEqual(versions.map((_, i) => i + 1));
    }
  });

  it('does not deadlock when two stores lock the same streams in opposite orders', async () => {
    const second = await createPostgresEventStore(fixture.pool, { schema: fixture.schema });
    try {
      const [a, b] = [`lock-a-${randomUUID()}`, `lock-b-${randomUUID()}`];
      const rounds = 40;
      await Promise.all([
        (async () => {
          for (let i = 0; i < rounds; i++) {
            await Promise.all([fixture.store.append(a, events(1)), fixture.store.append(b, events(1))]);
          }
        })(),
        (async () => {
          for (let i = 0; i < rounds; i++) {
            await Promise.all([second.append(b, events(1)), second.append(a, events(1))]);
          }
        })(),
      ]);
      expect(await fixture.store.streamVersion(a)).toBe(2 * rounds);
      expect(await fixture.store.streamVersion(b)).toBe(2 * rounds);
    } finally {
      await second.close();
    }
  });

  it('sends a large append alone, outside the groups', async () => {
    const p = randomUUID().slice(0, 8);
    await slotFreed();
    const before = fixture.store.commitTransactions;
    const results = await Promise.all([
      fixture.store.append(`small-${p}-0`, events(1)), // alone: the slot was free
      fixture.store.append(`large-${p}`, events(101)), // alone: too large to group
      fixture.store.append(`small-${p}-1`, events(1)), // these two: one group
      fixture.store.append(`small-${p}-2`, events(1)),
    ]);
    expect(results.map((r) => r.nextExpectedVersion)).toEqual([1, 101, 1, 1]);
    expect(fixture.store.commitTransactions - before).toBe(3);
    expect(txOf(results[2]!.lastPosition)).toBe(txOf(results[3]!.lastPosition));
    expect(txOf(results[1]!.lastPosition)).not.toBe(txOf(results[2]!.lastPosition));
  });

  it('commits the members of a group the server refuses one by one, so only the bad append fails', async () => {
    const pool = testPool(4);
    const schema = uniqueSchema('refused');
    const store = await createPostgresEventStore(pool, { schema });
    try {
      // A trigger stands in for any error the server raises for one append (not a conflict: those are outcomes).
      await pool.query(`CREATE FUNCTION "${schema}".poison() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.event_type = 'Poison' THEN RAISE EXCEPTION 'poisoned event'; END IF; RETURN NEW; END $$;
        CREATE TRIGGER poison BEFORE INSERT ON "${schema}".events FOR EACH ROW EXECUTE FUNCTION "${schema}".poison()`);
      const before = store.commitTransactions;
      const first = store.append('opener-1', events(1));
      const results = await Promise.all(
        [
          store.append('good-1', events(2)),
          store.append('bad-1', events(1, 'Poison')),
          store.append('good-2', events(1)),
        ].map(settle),
      );
      await first;
      expect(results[0]).toMatchObject({ ok: { nextExpectedVersion: 2 } });
      expect(results[1]).toMatchObject({ err: { code: 'BACKEND_ERROR' } });
      expect(results[2]).toMatchObject({ ok: { nextExpectedVersion: 1 } });
      // The opener, the refused group, then its three members alone.
      expect(store.commitTransactions - before).toBe(5);
      const { rows } = await pool.query(
        `SELECT stream_id, count(*)::int AS n FROM "${schema}".events GROUP BY 1 ORDER BY 1`,
      );
      expect(rows).toEqual([
        { stream_id: 'good-1', n: 2 },
        { stream_id: 'good-2', n: 1 },
        { stream_id: 'opener-1', n: 1 },
      ]);
      expect(await store.streamVersion('bad-1')).toBe(0);
    } finally {
      await store.close();
      await pool.end();
    }
  });

  it('fails every member of a group whose connection is killed, writes none of them, and a retry is idempotent', async () => {
    const pool = testPool(4);
    const schema = uniqueSchema('killed');
    const store = await createPostgresEventStore(pool, { schema });
    const blocker = await pool.connect();
    try {
      await store.append('blocked', events(1));
      // An uncommitted row at version 2 of 'blocked' makes the group wait inside its INSERT.
      await blocker.query('BEGIN');
      await blocker.query(
        `INSERT INTO "${schema}".events (global_position, stream_id, version, id, event_type, event_data, metadata)
         VALUES (1, 'blocked', 2, $1, 'Blocker', '{}', '{}')`,
        [randomUUID()],
      );
      const batches = [events(2), events(1), events(3)];
      const first = store.append('opener', events(1));
      const group = [
        store.append('blocked', batches[0]!, { expectedVersion: 1 }),
        store.append('also-1', batches[1]!),
        store.append('also-2', batches[2]!),
      ].map(settle);
      await first;
      let pid: number | undefined;
      for (let tries = 0; pid === undefined && tries < 200; tries++) {
        const { rows } = await pool.query(
          `SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1`,
          [`%"${schema}".append_events_batch%`],
        );
        pid = rows[0]?.pid;
        if (pid === undefined) await new Promise((r) => setTimeout(r, 25));
      }
      expect(pid).toBeDefined();
      await pool.query('SELECT pg_terminate_backend($1)', [pid]);
      for (const r of await Promise.all(group)) expect(r).toMatchObject({ err: { code: 'UNAVAILABLE' } });
      await blocker.query('ROLLBACK');

      const { rows } = await pool.query(`SELECT stream_id FROM "${schema}".events ORDER BY 1`);
      expect(rows.map((r) => r.stream_id)).toEqual(['blocked', 'opener']);
      // The outcome was unknown to the callers: they retry with the same ids, together again.
      const retried = await Promise.all([
        store.append('blocked', batches[0]!, { expectedVersion: 1 }),
        store.append('also-1', batches[1]!),
        store.append('also-2', batches[2]!),
      ]);
      expect(retried.map((r) => r.nextExpectedVersion)).toEqual([3, 1, 3]);
      const again = await Promise.all([
        store.append('blocked', batches[0]!, { expectedVersion: 1 }),
        store.append('also-1', batches[1]!),
        store.append('also-2', batches[2]!),
      ]);
      expect(again).toEqual(retried);
      expect(await store.streamVersion('also-2')).toBe(3);
    } finally {
      blocker.release();
      await store.close();
      await pool.end();
    }
  });

  it('finishes the appends it accepted before close() closes the pool', async () => {
    const schema = uniqueSchema('closing');
    const pool = testPool(4);
    const store = await createPostgresEventStore(pool, { schema });
    try {
      const pending = Array.from({ length: 20 }, (_, i) => store.append(`closing-${i % 3}`, events(1)));
      await store.close();
      const results = await Promise.all(pending);
      expect(results).toHaveLength(20);
      await expect(store.append('closing-0', events(1))).rejects.toMatchObject({ code: 'STORE_CLOSED' });
      const { rows } = await pool.query(`SELECT count(*)::int AS n FROM "${schema}".events`);
      expect(rows[0].n).toBe(20);
    } finally {
      await pool.end();
    }
  });

  it('can be turned off or tuned, and refuses bad settings with INVALID_ARGUMENT', async () => {
    const { pool, schema } = fixture;
    const off = await createPostgresEventStore(pool, { schema, groupCommit: false });
    const id = `off-${randomUUID()}`;
    await Promise.all(Array.from({ length: 6 }, () => off.append(id, events(1))));
    expect(off.commitTransactions).toBe(0);
    expect(await off.streamVersion(id)).toBe(6);
    await off.close();
    const four = await createPostgresEventStore(pool, { schema, groupCommit: { maxInFlight: 4 } });
    await Promise.all(Array.from({ length: 6 }, () => four.append(id, events(1))));
    expect(await four.streamVersion(id)).toBe(12);
    await four.close();
    // The same through the URL: group_commit=off, or a number of group transactions in flight.
    for (const [value, grouped] of [
      ['off', false],
      ['3', true],
    ] as const) {
      const viaUrl = (await createEventStore(
        `${serverUrl(schema)}&group_commit=${value}`,
      )) as PostgresEventStore;
      await Promise.all(Array.from({ length: 6 }, () => viaUrl.append(id, events(1))));
      expect(viaUrl.commitTransactions > 0).toBe(grouped);
      await viaUrl.close();
    }
    expect(await fixture.store.streamVersion(id)).toBe(24);
    for (const value of ['on', '0', '-1', '1.5', '1001', '']) {
      await expect(createEventStore(`${serverUrl(schema)}&group_commit=${value}`)).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
      await expect(createEventStore(`pglite:memory?group_commit=${value}`)).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
    }
    for (const groupCommit of [
      true,
      'yes',
      null,
      [],
      { maxInFlight: 0 },
      { maxInFlight: 1.5 },
      { every: 1 },
    ]) {
      await expect(
        createPostgresEventStore(pool, { schema, groupCommit: groupCommit as never }),
      ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
  });
});
