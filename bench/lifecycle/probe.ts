/**
 * A diagnostic beside `npm run bench:lifecycle` (\`npx tsx bench/lifecycle/probe.ts\`): the plan of one batch of the
 * retention sweep (EXPLAIN ANALYZE, rolled back) on 100k hidden events, then what the backends wait on (sampled from
 * pg_stat_activity every 5 ms) while the sweep runs beside 8 appending workers. Lock waits would show as `Lock:…`.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { createPostgresEventStore } from '../../src/adapters/postgres/index.js';
import { lifecycleStatements } from '../../src/adapters/postgres/lifecycle.js';
import { startPostgres } from '../../test/support/postgres-server.js';
import { benchEvent } from '../postgres/contenders.js';

const server = await startPostgres();
try {
  const pool = new pg.Pool({ connectionString: server.url, max: 12 });
  const store = await createPostgresEventStore(pool, { schema: 'probe' });
  const ids = Array.from({ length: 10 }, () => `victim-${randomUUID()}`);
  await Promise.all(
    ids.map(async (id) => {
      for (let v = 0; v < 10_000; v += 100)
        await store.append(
          id,
          Array.from({ length: 100 }, (_, j) => benchEvent(v + j)),
        );
    }),
  );
  for (let k = 0; k < 2000; k++) await store.append(`bench-${k % 200}`, [benchEvent(k)]);
  for (const id of ids) await store.setStreamMetadata(id, { maxCount: 1 });
  await pool.query('VACUUM ANALYZE probe.events');
  const sql = `EXPLAIN (ANALYZE, BUFFERS) ${lifecycleStatements('"probe"').enforceRetention}`;
  const c = await pool.connect();
  await c.query('BEGIN');
  for (const r of (await c.query(sql, [1000, '', 100])).rows) console.log(r['QUERY PLAN']);
  await c.query('ROLLBACK');
  c.release();
  // The sweep alone, then with appends, sampling what the append backends wait on.
  const waits = new Map<string, number>();
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const { rows } =
        await pool.query(`SELECT coalesce(wait_event_type, 'CPU') || ':' || coalesce(wait_event, '-') AS w, left(query, 40) AS q
        FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()`);
      for (const r of rows)
        waits.set(
          `${r.w} ${r.q.replace(/\s+/g, ' ')}`,
          (waits.get(`${r.w} ${r.q.replace(/\s+/g, ' ')}`) ?? 0) + 1,
        );
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  let stop = false;
  let n = 0;
  const t0 = performance.now();
  const sweep = store.enforceRetention().then((r) => {
    stop = true;
    return r;
  });
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (!stop) {
        await store.append(`bench-${n % 200}`, [benchEvent(n++)]);
      }
    }),
  );
  console.log(await sweep, 'in', ((performance.now() - t0) / 1000).toFixed(2), 's; appends', n);
  sampling = false;
  await sampler;
  console.log([...waits].sort((a, b) => b[1] - a[1]).slice(0, 15));
  await store.close();
  await pool.end();
} finally {
  await server.stop();
}
