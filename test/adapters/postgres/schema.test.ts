import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPgliteEventStore, createPostgresEventStore } from '../../../src/adapters/postgres/index.js';
import { MIGRATION_VERSIONS } from '../../../src/adapters/postgres/migrations.js';
import { ORDINAL_BITS } from '../../../src/adapters/postgres/positions.js';
import { createEventStore } from '../../../src/index.js';
import { usePglite } from './schema-support.js';
import { serverUrl, testPool, uniqueSchema } from './support.js';

let pool: pg.Pool;
const pglite = usePglite();

beforeAll(() => {
  pool = testPool(4);
});

afterAll(async () => {
  await pool.end();
});

async function migrations(schema: string): Promise<number[]> {
  const { rows } = await pool.query(`SELECT version FROM "${schema}".schema_migrations ORDER BY version`);
  return rows.map((r) => r.version);
}

const expectedVersions = MIGRATION_VERSIONS;

it('runs migrations twice without harm and keeps the data', async () => {
  const schema = uniqueSchema('twice');
  const first = await createPostgresEventStore(pool, { schema });
  await first.append('s-1', [{ type: 'Kept', data: 1 }]);
  await first.close();
  const second = await createPostgresEventStore(pool, { schema });
  expect(await second.streamVersion('s-1')).toBe(1);
  await second.close();
  expect(await migrations(schema)).toEqual(expectedVersions);
});

it('runs migrations twice on PGlite', async () => {
  const { db } = pglite;
  const first = await createPgliteEventStore(db, { schema: 'twice' });
  await first.append('s-1', [{ type: 'Kept', data: 1 }]);
  await first.close();
  expect(db.closed).toBe(false);
  const second = await createPgliteEventStore(db, { schema: 'twice' });
  expect(await second.streamVersion('s-1')).toBe(1);
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM twice.schema_migrations');
  expect(rows[0]!.n).toBe(MIGRATION_VERSIONS.length);
  await second.close();
});

it('with autoCreate: false creates nothing, and works once the schema exists', async () => {
  const schema = uniqueSchema('manual');
  const bare = await createPostgresEventStore(pool, { schema, autoCreate: false });
  const { rows } = await pool.query('SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = $1', [
    schema,
  ]);
  expect(rows[0].n).toBe(0);
  await expect(bare.streamVersion('s-1')).rejects.toMatchObject({ code: 'BACKEND_ERROR' });
  await (await createPostgresEventStore(pool, { schema })).close();
  await bare.append('s-1', [{ type: 'Later', data: 1 }]);
  expect(await bare.streamVersion('s-1')).toBe(1);
  await bare.close();
});

it('stores exactly what was appended: json text, ids, versions, positions, the stream row', async () => {
  const schema = uniqueSchema('raw');
  const store = await createPostgresEventStore(pool, { schema });
  const id = randomUUID();
  const data = { nul: '\u0000', quote: 'a"b\\c', unicode: 'ünï €', nested: [1, { x: null }] };
  const result = await store.append('order-42', [
    { type: 'Placed', data, metadata: { by: 'me' }, id },
    { type: 'Paid', data: 7 },
  ]);
  const { rows } = await pool.query(
    `SELECT id::text, stream_id, version::int, event_type, event_data::text AS data,
            metadata::text AS metadata, pg_typeof(event_data)::text AS data_type, global_position::text AS position,
            (global_position >> ${ORDINAL_BITS})::text AS xid, (global_position & ${2 ** ORDINAL_BITS - 1})::int AS ordinal
       FROM "${schema}".events ORDER BY version`,
  );
  expect(rows).toHaveLength(2);
  expect(rows[0]).toMatchObject({
    id,
    stream_id: 'order-42',
    version: 1,
    event_type: 'Placed',
    data: JSON.stringify(data),
    metadata: '{"by":"me"}',
    data_type: 'json',
    ordinal: 0,
  });
  expect(rows[1]).toMatchObject({ version: 2, data: '7', metadata: '{}', ordinal: 1, xid: rows[0].xid });
  expect(BigInt(rows[1].position)).toBe(result.lastPosition);
  const { rows: streams } = await pool.query(
    `SELECT version::int, last_position::text FROM "${schema}".streams WHERE stream_id = 'order-42'`,
  );
  expect(streams).toEqual([{ version: 2, last_position: rows[1].position }]);
  // An event id may appear again in a stream (rule 2), so its index must not be unique.
  const { rows: indexes } = await pool.query(
    'SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1',
    [schema],
  );
  const byName = new Map(indexes.map((r) => [r.indexname, r.indexdef as string]));
  expect(byName.get('events_stream_id_idx')).toMatch(/^CREATE INDEX .*\(stream_id, id\)/);
  expect(byName.get('events_stream_version_key')).toMatch(/^CREATE UNIQUE INDEX .*\(stream_id, version\)/);
  expect(byName.get('events_type_position_idx')).toMatch(/\(event_type, global_position\)/);
  // Nothing else: every index costs each insert (stream_metadata's and snapshots' are written only by their own
  // writes).
  expect([...byName.keys()].sort()).toEqual([
    'events_pkey',
    'events_stream_id_idx',
    'events_stream_version_key',
    'events_type_position_idx',
    'schema_migrations_pkey',
    'snapshots_pkey',
    'stream_metadata_pkey',
    'streams_pkey',
    'subscription_checkpoints_pkey',
    'subscription_leases_pkey',
  ]);
  await store.close();
});

it('leaves a pool the caller passed in open', async () => {
  const store = await createPostgresEventStore(pool, { schema: uniqueSchema('owned') });
  await store.close();
  const { rows } = await pool.query('SELECT 1 AS one');
  expect(rows).toEqual([{ one: 1 }]);
});

it('rejects bad schema names, unknown URL parameters and unknown options with INVALID_ARGUMENT', async () => {
  for (const schema of ['Bad', 'a-b', '1x', 'pg_x', 'x'.repeat(64), 'a"b', '']) {
    await expect(createPostgresEventStore(pool, { schema })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(
      createEventStore(`pglite:memory?schema=${encodeURIComponent(schema)}`),
    ).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  }
  await expect(createEventStore(`${serverUrl('ok')}&nope=1`)).rejects.toMatchObject({
    code: 'INVALID_ARGUMENT',
  });
  await expect(createEventStore('pglite:memory?max=3')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  await expect(createEventStore('pglite:memory', { nope: true })).rejects.toMatchObject({
    code: 'INVALID_ARGUMENT',
  });
  const wrongType: Record<string, unknown> = { autoCreate: 'yes' };
  await expect(createEventStore('pglite:memory', wrongType)).rejects.toMatchObject({
    code: 'INVALID_ARGUMENT',
  });
  await expect(createEventStore('pglite:')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  await expect(createEventStore(`${serverUrl('ok')}&max=0`)).rejects.toMatchObject({
    code: 'INVALID_ARGUMENT',
  });
});

it('opens postgresql:// URLs and persisted pglite:./dir stores', async () => {
  const url = serverUrl(uniqueSchema('scheme')).replace(/^postgres:/, 'postgresql:');
  const server = await createEventStore(url);
  await server.append('s-1', [{ type: 'Via', data: 'postgresql' }]);
  expect(await server.streamVersion('s-1')).toBe(1);
  await server.close();

  const dir = await mkdtemp(join(tmpdir(), 'eventstore-pglite-'));
  try {
    const path = join(dir, 'db');
    const first = await createEventStore(`pglite:${path}?schema=kept`);
    await first.append('s-1', [{ type: 'Persisted', data: { n: 1 } }]);
    await first.close();
    const second = await createEventStore(`pglite:${path}?schema=kept`);
    const events = [];
    for await (const e of second.readStream('s-1')) events.push(e);
    expect(events.map((e) => e.data)).toEqual([{ n: 1 }]);
    await second.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
