/**
 * `npx tsx bench/postgres/profile.ts`: where the CPU of a single-event append goes, kit vs raw floor. For each
 * contender, alternating, it runs c=8 single-event appends and reports appends/s, the benchmark process's CPU per
 * append (process.cpuUsage) and the whole machine's CPU per append (/proc/stat), so server CPU = machine - node.
 * Then the streams table's HOT update ratio, and Node-side costs of prepareAppend alone.
 *
 * EVENTSTORE_TEST_POSTGRES_URL reuses a running server. PROFILE_SECONDS, PROFILE_ROUNDS, PROFILE_C tune the run;
 * PROFILE_ASYNC=1 turns synchronous_commit off for the database; PROFILE_FN=1 adds the two contenders below.
 * The machine figure includes whatever else runs on the machine, so compare contenders within a run.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { POSTGRES_CAPABILITIES } from '../../src/adapters/postgres/index.js';
import { prepareAppend } from '../../src/contract/validate.js';
import { startPostgres } from '../../test/support/postgres-server.js';
import { benchEvent, type Contender, kitContender, rawContender } from './contenders.js';
import { throughput } from './measure.js';

const SECONDS = Number(process.env.PROFILE_SECONDS ?? 3);
const ROUNDS = Number(process.env.PROFILE_ROUNDS ?? 3);
const C = Number(process.env.PROFILE_C ?? 8);
const STREAMS = Array.from({ length: 200 }, (_, i) => `bench-${i}`);

function machineCpuMs(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: busy = all but idle and iowait, in USER_HZ (10 ms)
  const busy = f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!;
  return busy * 10;
}

async function measure(c: Contender): Promise<{ ops: number; nodeUs: number; totalUs: number }> {
  const cpu0 = process.cpuUsage();
  const m0 = machineCpuMs();
  let n = 0;
  const ops = await throughput(SECONDS * 1000, C, async (k) => {
    n++;
    await c.append(STREAMS[k % STREAMS.length]!, [benchEvent(k)]);
  });
  const cpu = process.cpuUsage(cpu0);
  const m = machineCpuMs() - m0;
  return { ops, nodeUs: (cpu.user + cpu.system) / n, totalUs: (m * 1000) / n };
}

/**
 * PROFILE_FN=1: the kit's function called straight from a pool (no store code around it), and a plpgsql function
 * of the same signature that only takes the lock and does the raw floor's INSERT, called the same way.
 */
async function fnContenders(url: string): Promise<Contender[]> {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  await pool.query(`CREATE OR REPLACE FUNCTION bench_raw.lite(
  p_stream_id text, p_expected bigint, p_ids uuid[], p_types text[], p_data text[], p_metadata text[],
  OUT o_status text, OUT o_version bigint, OUT o_position bigint, OUT o_reason text)
LANGUAGE plpgsql AS $fn$ BEGIN
  PERFORM pg_advisory_xact_lock(1, hashtext(p_stream_id));
  INSERT INTO bench_raw.events (stream_id, version, id, event_type, event_data, metadata)
    SELECT p_stream_id, nextval('bench_raw.positions') + u.i, u.id, u.t, u.d::json, u.m::json
    FROM unnest(p_ids, p_types, p_data, p_metadata) WITH ORDINALITY AS u(id, t, d, m, i);
  o_status := 'written'; o_version := 1; o_position := 1;
END $fn$`);
  const call = (fn: string, label: string): Contender => ({
    name: label as Contender['name'],
    append: async (streamId, events) => {
      await pool.query({
        name: label,
        text: `SELECT o_status, o_version::text AS o_version, o_position::text AS o_position, o_reason
          FROM ${fn}($1, $2, $3::uuid[], $4::text[], $5::text[], $6::text[])`,
        values: [
          streamId,
          -1,
          events.map((e) => e.id),
          events.map((e) => e.type),
          events.map((e) => JSON.stringify(e.data)),
          events.map(() => '{}'),
        ],
      });
    },
    readAll: async () => 0,
    close: async () => {},
  });
  return [call('bench_kit.append_events', 'kit fn direct'), call('bench_raw.lite', 'lock+insert fn')];
}

const server = await startPostgres();
try {
  const admin = new pg.Pool({ connectionString: server.url, max: 1 });
  await admin.query('DROP DATABASE IF EXISTS eventstore_profile WITH (FORCE)');
  await admin.query('CREATE DATABASE eventstore_profile');
  // PROFILE_ASYNC=1: no WAL flush wait at commit, to see CPU per append without the fsync pattern.
  if (process.env.PROFILE_ASYNC)
    await admin.query('ALTER DATABASE eventstore_profile SET synchronous_commit = off');
  await admin.end();
  const url = new URL(server.url);
  url.pathname = '/eventstore_profile';
  const kit = await kitContender(url.toString());
  const raw = await rawContender(url.toString());
  const contenders = [kit, raw];
  if (process.env.PROFILE_FN) contenders.push(...(await fnContenders(url.toString())));
  // PROFILE_GROUP=1: the kit without group commit, and with other numbers of transactions in flight.
  if (process.env.PROFILE_GROUP) {
    contenders.push(await kitContender(url.toString(), false, 'kit, no group commit'));
    for (const n of [1, 4]) {
      contenders.push(await kitContender(url.toString(), { maxInFlight: n }, `kit, ${n} in flight`));
    }
  }
  for (const c of contenders) await measure(c);
  const rows: Record<string, unknown>[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const c of r % 2 ? [...contenders].reverse() : contenders) {
      const x = await measure(c);
      rows.push({
        round: r,
        contender: c.name,
        'appends/s': Math.round(x.ops),
        'node µs/append': Math.round(x.nodeUs),
        'machine µs/append': Math.round(x.totalUs),
        'server+other µs/append': Math.round(x.totalUs - x.nodeUs),
      });
    }
  }
  console.table(rows);
  const p = new pg.Pool({ connectionString: url.toString(), max: 1 });
  const { rows: st } = await p.query(
    `SELECT schemaname, relname, n_tup_upd, n_tup_hot_upd, n_tup_ins, n_dead_tup, pg_relation_size(relid) AS bytes
       FROM pg_stat_user_tables WHERE relname IN ('streams', 'events') ORDER BY 1, 2`,
  );
  console.table(st);
  await p.end();
  for (const c of contenders) await c.close();

  // Node-side: prepareAppend alone for one benchmark event.
  const N = 200_000;
  const events = Array.from({ length: N }, (_, i) => [benchEvent(i)]);
  let t = performance.now();
  for (let i = 0; i < N; i++) prepareAppend('bench-1', events[i], undefined, POSTGRES_CAPABILITIES);
  console.log(
    `prepareAppend: ${(((performance.now() - t) * 1000) / N).toFixed(2)} µs per single-event append`,
  );
  t = performance.now();
  for (let i = 0; i < N; i++) JSON.stringify(events[i]![0]!.data);
  console.log(`JSON.stringify(data) alone: ${(((performance.now() - t) * 1000) / N).toFixed(2)} µs`);
} finally {
  await server.stop();
}
