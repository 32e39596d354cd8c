import { randomUUID } from 'node:crypto';
import { dumbo } from '@event-driven-io/dumbo';
import { getPostgreSQLEventStore, readMessagesBatch } from '@event-driven-io/emmett-postgresql';
import pg from 'pg';
import {
  createPostgresEventStore,
  type PostgresEventStoreOptions,
} from '../../src/adapters/postgres/index.js';
import type { EventStore, JsonObject } from '../../src/index.js';

/** One event as every contender writes it. */
export interface BenchEvent {
  id: string;
  type: string;
  data: JsonObject;
}

/** What the benchmark drives: the kit's store, the raw floor and Emmett, on the same server. */
export interface Contender {
  name: 'eventstore-kit' | 'raw floor' | 'emmett';
  append(streamId: string, events: BenchEvent[]): Promise<void>;
  /** Reads the first `n` events in global order and returns how many it read. */
  readAll(n: number): Promise<number>;
  close(): Promise<void>;
}

export function benchEvent(i: number): BenchEvent {
  return {
    id: randomUUID(),
    type: i % 3 === 0 ? 'OrderPlaced' : 'ItemAdded',
    data: {
      orderId: `order-${i}`,
      sku: `SKU-${i % 997}`,
      quantity: (i % 5) + 1,
      price: 19.99,
      note: 'benchmark',
    },
  };
}

/**
 * The kit's PostgreSQL store on its own pool (max 10 connections, like the others), with its default group commit
 * unless `groupCommit` says otherwise (the profile compares settings under their own names).
 */
export async function kitContender(
  url: string,
  groupCommit?: PostgresEventStoreOptions['groupCommit'],
  name = 'eventstore-kit',
): Promise<Contender> {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  pool.on('error', () => {});
  const store: EventStore = await createPostgresEventStore(pool, {
    schema: 'bench_kit',
    ...(groupCommit === undefined ? {} : { groupCommit }),
  });
  return {
    name: name as Contender['name'],
    append: async (streamId, events) => {
      await store.append(streamId, events);
    },
    readAll: async (n) => {
      let count = 0;
      for await (const e of store.readAll({ maxCount: n })) if (e.version > 0) count++;
      return count;
    },
    close: async () => {
      await store.close();
      await pool.end();
    },
  };
}

/**
 * The raw floor: the same rows in a table of the same shape (columns, keys, indexes: `LIKE … INCLUDING ALL`),
 * written with one plain INSERT per append, versions counted in process, positions from a sequence, and no
 * checks of any kind. Reads page by position with the same columns and JSON parsing, without the no-skip limit.
 */
export async function rawContender(url: string): Promise<Contender> {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  pool.on('error', () => {});
  await pool.query(`DROP SCHEMA IF EXISTS bench_raw CASCADE; CREATE SCHEMA bench_raw;
    CREATE SEQUENCE bench_raw.positions;
    CREATE TABLE bench_raw.events (LIKE bench_kit.events INCLUDING ALL);
    ALTER TABLE bench_raw.events ALTER global_position SET DEFAULT nextval('bench_raw.positions')`);
  const versions = new Map<string, number>();
  const insert = `INSERT INTO bench_raw.events (stream_id, version, id, event_type, event_data, metadata)
    SELECT $1, $2 + u.i, u.id, u.t, u.d::json, '{}'::json
    FROM unnest($3::uuid[], $4::text[], $5::text[]) WITH ORDINALITY AS u(id, t, d, i)`;
  const read = `SELECT global_position::text AS position, stream_id, version, id::text AS id, event_type,
      event_data::text AS event_data, metadata::text AS metadata,
      (extract(epoch FROM created_at) * 1000)::float8 AS created_ms
    FROM bench_raw.events WHERE global_position > $1 ORDER BY global_position LIMIT $2`;
  return {
    name: 'raw floor',
    append: async (streamId, events) => {
      const base = versions.get(streamId) ?? 0;
      versions.set(streamId, base + events.length);
      await pool.query({
        name: 'raw_insert',
        text: insert,
        values: [
          streamId,
          base,
          events.map((e) => e.id),
          events.map((e) => e.type),
          events.map((e) => JSON.stringify(e.data)),
        ],
      });
    },
    readAll: async (n) => {
      let count = 0;
      let cursor = '0';
      while (count < n) {
        const limit = Math.min(1000, n - count);
        const { rows } = await pool.query({ name: 'raw_read', text: read, values: [cursor, limit] });
        for (const row of rows) {
          const e = {
            id: row.id,
            streamId: row.stream_id,
            type: row.event_type,
            data: JSON.parse(row.event_data),
            metadata: JSON.parse(row.metadata),
            version: Number(row.version),
            position: BigInt(row.position),
            createdAt: new Date(row.created_ms),
          };
          if (e.version > 0) count++;
        }
        if (rows.length < limit) break;
        cursor = rows[rows.length - 1].position;
      }
      return count;
    },
    close: () => pool.end(),
  };
}

/** Emmett's PostgreSQL event store (its tables in `public`), on its dumbo pool (a pg.Pool of 10 by default). */
export async function emmettContender(url: string): Promise<Contender> {
  const pool = dumbo({ connectionString: url });
  const store = getPostgreSQLEventStore(url, {
    connectionOptions: { dumbo: pool } as never,
  });
  await store.schema.migrate();
  return {
    name: 'emmett',
    append: async (streamId, events) => {
      await store.appendToStream(
        streamId,
        events.map((e) => ({ type: e.type, data: e.data, metadata: { messageId: e.id } })),
      );
    },
    readAll: async (n) => {
      let count = 0;
      let after = 0n;
      while (count < n) {
        const batchSize = Math.min(1000, n - count);
        const result = await readMessagesBatch(pool.execute as never, { after, batchSize });
        count += result.messages.length;
        if (!result.areMessagesLeft) break;
        after = result.currentGlobalPosition;
      }
      return count;
    },
    close: () => store.close(),
  };
}
