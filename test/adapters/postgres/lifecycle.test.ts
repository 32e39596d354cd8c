import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import type { NewEvent } from '../../../src/index.js';
import { useServerStore } from './support.js';

const fixture = useServerStore('lifecycle');

function batch(n: number, marker: string): NewEvent[] {
  return Array.from({ length: n }, (_, i) => ({ type: 'Personal', data: { marker, i }, id: randomUUID() }));
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Rows of the events table whose data or id carries `marker`, read behind the contract. */
async function rawRows(marker: string): Promise<number> {
  const { rows } = await fixture.pool.query(
    `SELECT count(*)::int AS n FROM "${fixture.schema}".events WHERE event_data::text LIKE $1`,
    [`%${marker}%`],
  );
  return rows[0].n;
}

it('erases the data of a hard delete, a truncation and enforced retention from every path, the raw table included', async () => {
  const marker = randomUUID();
  const prefix = `erase-${randomUUID()}/`;
  const [hard, truncated, retained] = ['hard', 'truncated', 'retained'].map((s) => `${prefix}${s}`) as [
    string,
    string,
    string,
  ];
  for (const id of [hard, truncated, retained]) await fixture.store.append(id, batch(3, marker));
  await fixture.store.append(truncated, batch(1, 'kept'));
  await fixture.store.append(retained, batch(1, 'kept'));
  expect(await rawRows(marker)).toBe(9);

  await fixture.store.deleteStream(hard, { hard: true });
  await fixture.store.truncateStream(truncated, { before: 4 });
  await fixture.store.setStreamMetadata(retained, { maxCount: 1 });
  expect(await rawRows(marker)).toBe(3);
  await fixture.store.enforceRetention();

  expect(await rawRows(marker)).toBe(0);
  const all = await collect(fixture.store.readAll({ filter: { streamPrefix: prefix } }));
  expect(all.filter((e) => JSON.stringify(e.data).includes(marker))).toEqual([]);
  for (const id of [truncated, retained]) {
    expect((await collect(fixture.store.readStream(id))).map((e) => e.data)).toEqual([
      { marker: 'kept', i: 0 },
    ]);
  }
  await expect(collect(fixture.store.readStream(hard))).rejects.toMatchObject({ code: 'STREAM_DELETED' });
});

it('pg_terminate_backend in the middle of a delete leaves nothing deleted, and the delete then succeeds', async () => {
  const id = `killed-delete-${randomUUID()}`;
  await fixture.store.append(id, batch(100, 'kept'));
  // A row lock on the stream row makes delete_stream wait after it deleted the events, before it marks the stream.
  const blocker = await fixture.pool.connect();
  await blocker.query('BEGIN');
  await blocker.query(`SELECT 1 FROM "${fixture.schema}".streams WHERE stream_id = $1 FOR UPDATE`, [id]);
  const outcome = fixture.store.deleteStream(id, { expectedVersion: 100 }).then(
    () => 'resolved',
    (err: unknown) => err,
  );
  try {
    let pid: number | undefined;
    for (let tries = 0; pid === undefined && tries < 400; tries++) {
      const { rows } = await fixture.pool.query(
        `SELECT pid FROM pg_stat_activity
          WHERE wait_event_type = 'Lock' AND query LIKE $1 AND pid <> pg_backend_pid()`,
        [`%"${fixture.schema}".delete_stream%`],
      );
      pid = rows[0]?.pid;
      if (pid === undefined) await new Promise((r) => setTimeout(r, 25));
    }
    expect(pid).toBeDefined();
    await fixture.pool.query('SELECT pg_terminate_backend($1)', [pid]);
    expect(await outcome).toMatchObject({ code: 'UNAVAILABLE', streamId: id });
  } finally {
    await blocker.query('ROLLBACK');
    blocker.release();
  }
  expect(await collect(fixture.store.readStream(id))).toHaveLength(100);
  expect(await fixture.store.streamVersion(id)).toBe(100);
  await expect(fixture.store.deleteStream(id, { expectedVersion: 100 })).resolves.toEqual({ version: 100 });
  expect(await collect(fixture.store.readStream(id))).toEqual([]);
});
