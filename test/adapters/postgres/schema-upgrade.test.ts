import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPgliteEventStore,
  createPostgresEventStore,
  type PostgresEventStore,
} from '../../../src/adapters/postgres/index.js';
import { loadMigrations, MIGRATION_VERSIONS } from '../../../src/adapters/postgres/migrations.js';
import type { JsonObject, JsonValue, RecordedEvent } from '../../../src/index.js';
import {
  catalog,
  frozenSchema,
  type RawEvent,
  type RawOutcome,
  type RawSql,
  rawAppend,
  usePglite,
} from './schema-support.js';
import { testPool, uniqueSchema } from './support.js';

// Each released schema version is built from its frozen snapshot (fixtures/schema-v*.sql), filled through that
// version's own functions, then upgraded by opening the current store: the events must be intact, the schema the
// same as a fresh one, and the functions must behave as the current ones.

interface Backend {
  sql: RawSql;
  open(schema: string): Promise<PostgresEventStore>;
  end(): Promise<void>;
}

let pool: pg.Pool;
const pglite = usePglite();

beforeAll(() => {
  pool = testPool(8);
});

afterAll(async () => {
  await pool.end();
});

const backends: Record<string, () => Backend> = {
  server: () => ({
    sql: {
      query: async (text, params) => (await pool.query(text, params)).rows,
      exec: async (script) => {
        await pool.query(script);
      },
    },
    open: (schema) => createPostgresEventStore(pool, { schema }),
    end: async () => {},
  }),
  PGlite: () => ({
    sql: pglite.sql,
    open: (schema) => createPgliteEventStore(pglite.db, { schema }),
    end: async () => {},
  }),
};

const event = (type: string, data: unknown, metadata: Record<string, unknown> = {}): RawEvent => ({
  id: randomUUID(),
  type,
  data,
  metadata,
});

async function readAll(store: PostgresEventStore): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for await (const e of store.readAll()) events.push(e);
  return events;
}

interface Written {
  streamId: string;
  events: readonly RawEvent[];
  firstVersion: number;
  lastPosition: bigint;
}

/** What a version-2 schema's group commit wrote: two appends in one `append_events_batch` transaction. */
async function rawBatch(sql: RawSql, schema: string): Promise<Written[]> {
  const a = [event('Added', { sku: 'a' }), event('Added', { sku: 'b' })];
  const b = [event('Opened', 'b')];
  const rows = await sql.query<{ o_index: number } & RawOutcome>(
    `SELECT o_index, o_status, o_version::text, o_position::text, o_reason
       FROM "${schema}".append_events_batch($1::text[], $2::bigint[], $3::integer[], $4::integer[], $5::uuid[],
              $6::text[], $7::text[], $8::text[]) ORDER BY o_index`,
    [
      ['batch-a', 'batch-b'],
      [0, -1],
      [2, 1],
      [1, 1, 2],
      [...a, ...b].map((e) => e.id),
      [...a, ...b].map((e) => e.type),
      [...a, ...b].map((e) => JSON.stringify(e.data)),
      [...a, ...b].map((e) => JSON.stringify(e.metadata)),
    ],
  );
  expect(rows.map((r) => [r.o_status, r.o_version])).toEqual([
    ['written', '2'],
    ['written', '1'],
  ]);
  return [
    { streamId: 'batch-a', events: a, firstVersion: 1, lastPosition: BigInt(rows[0]!.o_position) },
    { streamId: 'batch-b', events: b, firstVersion: 1, lastPosition: BigInt(rows[1]!.o_position) },
  ];
}

/** Fills a schema through the raw `append_events` of the version that built it. */
async function fill(sql: RawSql, schema: string, version: 1 | 2): Promise<Written[]> {
  const placed = [
    event('Placed', { nul: '\u0000', quote: 'a"b\\c', unicode: 'ünï €' }, { by: 'me' }),
    event('Paid', 7),
  ];
  const shipped = [event('Shipped', null)];
  const opened = [event('Opened', [1, { x: null }])];
  const r1 = await rawAppend(sql, schema, 'order-1', 0, placed);
  const r2 = await rawAppend(sql, schema, 'order-1', 2, shipped);
  const r3 = await rawAppend(sql, schema, 'cart-9', -1, opened);
  expect([r1, r2, r3].map((r) => [r.o_status, r.o_version])).toEqual([
    ['written', '2'],
    ['written', '3'],
    ['written', '1'],
  ]);
  // The released functions already knew retries: the first batch again is recognised, nothing written.
  expect(await rawAppend(sql, schema, 'order-1', 0, placed)).toMatchObject({
    o_status: 'duplicate',
    o_position: r1.o_position,
  });
  const written: Written[] = [
    { streamId: 'order-1', events: placed, firstVersion: 1, lastPosition: BigInt(r1.o_position) },
    { streamId: 'order-1', events: shipped, firstVersion: 3, lastPosition: BigInt(r2.o_position) },
    { streamId: 'cart-9', events: opened, firstVersion: 1, lastPosition: BigInt(r3.o_position) },
  ];
  return version === 2 ? [...written, ...(await rawBatch(sql, schema))] : written;
}

/** The stored rows as text, every column the upgrade keeps. */
function storedRows(sql: RawSql, schema: string): Promise<unknown[]> {
  return sql.query(
    `SELECT global_position::text, stream_id, version::text, id::text, event_type, event_data::text,
            metadata::text, created_at::text FROM "${schema}".events ORDER BY global_position`,
  );
}

async function upgrade(backend: Backend, version: 1 | 2): Promise<void> {
  const { sql } = backend;
  const schema = uniqueSchema(`v${version}`);
  await sql.exec(await frozenSchema(version, schema));
  const written = await fill(sql, schema, version);
  const rowsBefore = await storedRows(sql, schema);
  const plan = `SELECT coalesce(array_to_string(p.proconfig, ','), '') AS config, p.prosrc
                  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                 WHERE n.nspname = $1 AND p.proname = 'append_events_batch'`;
  if (version === 2) expect((await sql.query<{ config: string }>(plan, [schema]))[0]!.config).toBe('');

  const store = await backend.open(schema);
  try {
    // The ledger: every migration once, the released ones under the names their release gave them, and every
    // row with the shipped file's checksum.
    const migrations = await loadMigrations();
    const ledger = await sql.query<{ version: number; checksum: string }>(
      `SELECT version, checksum FROM "${schema}".schema_migrations ORDER BY version`,
    );
    expect(ledger).toEqual(migrations.map((m) => ({ version: m.version, checksum: m.checksum })));
    expect(ledger).toHaveLength(MIGRATION_VERSIONS.length);

    // The same schema as a fresh one: tables, columns, indexes, constraints, and the functions' text.
    const fresh = uniqueSchema('fresh');
    await (await backend.open(fresh)).close();
    expect(await catalog(sql, schema)).toEqual(await catalog(sql, fresh));

    // The plan fix reached a schema that was at version 2.
    const [batch] = await sql.query<{ config: string; prosrc: string }>(plan, [schema]);
    expect(batch!.config).toBe('enable_seqscan=off,enable_hashjoin=off,enable_mergejoin=off');
    expect(batch!.prosrc).toContain('(ev.version + 0) <= st.version');

    // The events are intact: the stored rows, and what the store reads back.
    expect(await storedRows(sql, schema)).toEqual(rowsBefore);
    const expected = written.flatMap((w) =>
      w.events.map((e, i) => ({
        id: e.id,
        streamId: w.streamId,
        type: e.type,
        data: e.data,
        metadata: e.metadata,
        version: w.firstVersion + i,
      })),
    );
    const read = await readAll(store);
    expect(read.map(({ position: _, createdAt: __, ...rest }) => rest)).toEqual(expected);
    for (const w of written) {
      const last = read.filter((e) => e.streamId === w.streamId)[w.firstVersion + w.events.length - 2];
      expect(last!.position).toBe(w.lastPosition);
    }

    // The functions behave as the current ones: expected versions, conflicts, retries of batches the old
    // functions wrote, group commit, readAll order.
    const next = await store.append('order-1', [{ type: 'Delivered', data: 1 }], { expectedVersion: 3 });
    expect(next.nextExpectedVersion).toBe(4);
    expect(next.lastPosition! > written[1]!.lastPosition).toBe(true);
    await expect(
      store.append('order-1', [{ type: 'Late', data: 1 }], { expectedVersion: 2 }),
    ).rejects.toMatchObject({ code: 'WRONG_EXPECTED_VERSION', actualVersion: 4 });
    await expect(
      store.append('nope-1', [{ type: 'X', data: 1 }], { expectedVersion: 'stream_exists' }),
    ).rejects.toMatchObject({ code: 'WRONG_EXPECTED_VERSION' });
    for (const [w, expectedVersion] of [
      [written[0]!, 0],
      [written[1]!, 2],
      [written[2]!, 'any'],
    ] as const) {
      const retry = w.events.map((e) => ({
        id: e.id,
        type: e.type,
        data: e.data as JsonValue,
        metadata: e.metadata as JsonObject,
      }));
      await expect(store.append(w.streamId, retry, { expectedVersion })).resolves.toEqual({
        nextExpectedVersion: w.firstVersion + w.events.length - 1,
        lastPosition: w.lastPosition,
      });
    }
    const before = store.commitTransactions;
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => store.append(`cart-${i % 2}`, [{ type: 'Added', data: i }])),
    );
    expect(store.commitTransactions - before).toBeLessThan(6);
    expect(results.map((r) => r.nextExpectedVersion).sort()).toEqual([1, 1, 2, 2, 3, 3]);
    const after = await readAll(store);
    expect(after).toHaveLength(read.length + 7);
    for (let i = 1; i < after.length; i++) expect(after[i]!.position > after[i - 1]!.position).toBe(true);
    expect(after.slice(0, read.length)).toEqual(read);
  } finally {
    await store.close();
  }
}

for (const [name, make] of Object.entries(backends)) {
  describe(`upgrades on ${name}`, () => {
    for (const version of [1, 2] as const) {
      it(`upgrades a version-${version} schema (frozen snapshot) with its events intact`, async () => {
        const backend = make();
        try {
          await upgrade(backend, version);
        } finally {
          await backend.end();
        }
      });
    }
  });
}
