import { randomUUID } from 'node:crypto';
import type { RawQuery } from '../../adapters/postgres/scratch.js';
import { describeUrl } from '../../config.js';
import type { EventStore, JsonObject } from '../../contract/index.js';
import { createEventStore } from '../../index.js';
import { scratchFor } from './conformance-scratch.js';

/** One event as the store and its floor both write it. */
export interface BenchEvent {
  id: string;
  type: string;
  data: JsonObject;
}

/**
 * The least a backend can do for the same workload, with none of the contract's guarantees, the same floors as
 * bench/postgres and bench/dynamodb: PostgreSQL, a plain INSERT of the same rows per append into a table of the same
 * columns and keys, and reads that page by position; DynamoDB, one unconditional BatchWriteItem per append (the
 * naive design); EventStoreDB, the client's own append (`ANY`) and read of $all.
 */
export interface Floor {
  readonly name: string;
  append(streamId: string, events: BenchEvent[]): Promise<void>;
  /** Reads back what `append` wrote, in order, and returns how many events it read. */
  readAll?(): Promise<number>;
  close(): Promise<void>;
}

export interface BenchTarget {
  store: EventStore;
  floor: Floor | undefined;
  namespace: string;
  /** Closes both and removes the scratch namespace; resolves to what it removed. */
  close(): Promise<string>;
}

const FLOOR_TABLE = (s: string) => `CREATE TABLE ${s}.floor_events (
  global_position bigserial PRIMARY KEY, stream_id text NOT NULL, version bigint NOT NULL, id uuid NOT NULL,
  event_type text NOT NULL, event_data json NOT NULL, metadata json NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(), UNIQUE (stream_id, version), UNIQUE (stream_id, id))`;

type Query = RawQuery;

function sqlFloor(query: Query, schema: string, close: () => Promise<void>): Floor {
  const s = `"${schema}"`;
  const versions = new Map<string, number>();
  let created: Promise<unknown> | undefined;
  return {
    name: 'plain INSERT',
    append: async (streamId, events) => {
      created ??= query(FLOOR_TABLE(s));
      await created;
      const from = versions.get(streamId) ?? 0;
      versions.set(streamId, from + events.length);
      await query(
        `INSERT INTO ${s}.floor_events (stream_id, version, id, event_type, event_data, metadata)
         SELECT $1, $2::bigint + u.i, u.id, u.t, u.d::json, '{}'::json
           FROM unnest($3::uuid[], $4::text[], $5::text[]) WITH ORDINALITY AS u(id, t, d, i)`,
        [
          streamId,
          from,
          events.map((e) => e.id),
          events.map((e) => e.type),
          events.map((e) => JSON.stringify(e.data)),
        ],
      );
    },
    readAll: async () => {
      let n = 0;
      let after = '0';
      for (;;) {
        const rows = await query(
          `SELECT global_position::text AS p, stream_id, version, id::text AS id, event_type, event_data::text AS d,
             metadata::text AS m, (extract(epoch FROM created_at) * 1000)::float8 AS c
           FROM ${s}.floor_events WHERE global_position > $1 ORDER BY global_position LIMIT 1000`,
          [after],
        );
        for (const r of rows) {
          JSON.parse(r.d as string);
          JSON.parse(r.m as string);
          new Date(r.c as number);
        }
        n += rows.length;
        if (rows.length < 1000) return n;
        after = rows[rows.length - 1]!.p as string;
      }
    },
    close,
  };
}

/** Opens the store of `url` in a scratch namespace, with the floor of its backend when there is one. */
export async function openBenchTarget(url: string): Promise<BenchTarget> {
  const scheme = describeUrl(url);
  if (scheme === 'pglite') {
    const { openPgliteScratch } = await import('../../adapters/postgres/scratch.js');
    const schema = `eskit_bench_${randomUUID().slice(0, 8)}`;
    const pglite = await openPgliteScratch(decodeURIComponent(new URL(url).pathname), schema);
    const store = await pglite.create();
    const floorSchema = `${schema}_floor`;
    await pglite.query(`CREATE SCHEMA "${floorSchema}"`);
    return {
      store,
      floor: sqlFloor(pglite.query, floorSchema, async () => {}),
      namespace: `schema ${schema}`,
      close: async () => {
        await store.close();
        await pglite.query(`DROP SCHEMA IF EXISTS "${floorSchema}" CASCADE`);
        await pglite.dispose();
        return `dropped schema ${schema}`;
      },
    };
  }
  const scratch = scratchFor(url);
  const store = await createEventStore(scratch.url);
  let floor: Floor | undefined;
  if (scheme === 'postgres' || scheme === 'postgresql') {
    const { serverQuery } = await import('../../adapters/postgres/scratch.js');
    const schema = new URL(scratch.url).searchParams.get('schema')!;
    const server = await serverQuery(scratch.url);
    floor = sqlFloor(server.query, schema, server.close);
  } else if (scheme === 'dynamodb') {
    floor = await dynamodbFloor(scratch.url);
  } else if (scheme !== 'memory') {
    floor = await esdbFloor(url);
  }
  return {
    store,
    floor,
    namespace: scratch.describe,
    close: async () => {
      await Promise.allSettled([store.close(), floor?.close()]);
      return scratch.remove();
    },
  };
}

async function dynamodbFloor(url: string): Promise<Floor> {
  const { naiveAppender } = await import('../../adapters/dynamodb/scratch.js');
  return { name: 'unconditional BatchWriteItem', ...(await naiveAppender(url)) };
}

async function esdbFloor(url: string): Promise<Floor> {
  const { clientFloor } = await import('../../adapters/eventstoredb/scratch.js');
  return { name: 'the client’s own append and read', ...(await clientFloor(url)) };
}
