import {
  type AppendOptions,
  type AppendResult,
  type Capabilities,
  type EventStore,
  type JsonObject,
  type JsonValue,
  type NewEvent,
  prepareAppend,
  prepareReadAll,
  prepareReadStream,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  StoreClosedError,
  validateStreamId,
  WrongExpectedVersionError,
} from '../../contract/index.js';
import type { SqlDriver } from './driver.js';
import { type ErrorContext, mapError } from './map-error.js';
import { ORDINAL_BITS } from './positions.js';
import { quoteIdent } from './schema.js';

export interface PostgresEventStoreOptions {
  /** The schema that holds the tables. Defaults to `eventstore`. */
  schema?: string;
  /** Create or upgrade the schema when the store opens. Defaults to true. */
  autoCreate?: boolean;
  /** Rows fetched per round trip by readStream/readAll (keyset pages). Defaults to 1000. */
  pageSize?: number;
}

/** The declared limits. 100,000 events per append stays well inside the 2^20 ordinals a position can encode. */
export const POSTGRES_CAPABILITIES: Capabilities = Object.freeze({
  maxEventsPerAppend: 100_000,
  maxEventBytes: 32 * 1024 * 1024,
  maxAppendBytes: 64 * 1024 * 1024,
  idempotencyWindow: 'stream' as const,
});

interface AppendRow {
  o_status: 'written' | 'duplicate' | 'empty' | 'conflict';
  o_version: string | number;
  o_position: string | null;
  o_reason: string | null;
}

interface EventRow {
  position: string;
  stream_id: string;
  version: string | number;
  id: string;
  event_type: string;
  event_data: string;
  metadata: string;
  created_ms: number;
}

const COLUMNS = `global_position::text AS position, stream_id, version, id::text AS id, event_type,
  event_data::text AS event_data, metadata::text AS metadata,
  (extract(epoch FROM created_at) * 1000)::float8 AS created_ms`;

type StatementKey =
  | 'append'
  | 'version'
  | 'forwards'
  | 'backwards'
  | 'all'
  | 'allTypes'
  | 'allPrefix'
  | 'allBoth';

const MAX_BIGINT = '9223372036854775807';

function toRecorded(row: EventRow): RecordedEvent {
  return {
    id: row.id,
    streamId: row.stream_id,
    type: row.event_type,
    data: JSON.parse(row.event_data) as JsonValue,
    metadata: JSON.parse(row.metadata) as JsonObject,
    version: Number(row.version),
    position: BigInt(row.position),
    createdAt: new Date(row.created_ms),
  };
}

/**
 * The PostgreSQL event store. The same SQL runs on a node-postgres pool and on PGlite through {@link SqlDriver}.
 *
 * - append: one call of the schema's `append_events` function, i.e. one round trip and one transaction.
 * - readAll: only rows of transactions older than every running transaction
 *   (`pg_snapshot_xmin(pg_current_snapshot())`), in position order, so nothing can appear later behind a
 *   position already returned.
 */
export class PostgresEventStore implements EventStore {
  readonly capabilities: Capabilities = POSTGRES_CAPABILITIES;
  readonly #driver: SqlDriver;
  readonly #pageSize: number;
  readonly #sql: Readonly<Record<StatementKey, string>>;
  readonly #names: string;
  #closed = false;

  /** Use the factories in `eventstore-kit/postgres`; they validate the schema name and run migrations. */
  constructor(driver: SqlDriver, schema: string, pageSize = 1000) {
    this.#driver = driver;
    this.#pageSize = pageSize;
    this.#names = `es_${schema}`;
    const s = quoteIdent(schema);
    const all = (extra: string) => `SELECT ${COLUMNS} FROM ${s}.events
      WHERE global_position > $1
        AND global_position < (pg_snapshot_xmin(pg_current_snapshot())::text::bigint << ${ORDINAL_BITS})${extra}
      ORDER BY global_position LIMIT $2`;
    this.#sql = {
      append: `SELECT o_status, o_version::text AS o_version, o_position::text AS o_position, o_reason
        FROM ${s}.append_events($1, $2, $3::uuid[], $4::text[], $5::text[], $6::text[])`,
      version: `SELECT version::text AS version FROM ${s}.streams WHERE stream_id = $1`,
      forwards: `SELECT ${COLUMNS} FROM ${s}.events WHERE stream_id = $1 AND version >= $2
        ORDER BY version LIMIT $3`,
      backwards: `SELECT ${COLUMNS} FROM ${s}.events WHERE stream_id = $1 AND version <= $2
        ORDER BY version DESC LIMIT $3`,
      all: all(''),
      allTypes: all('\n        AND event_type = ANY($3::text[])'),
      allPrefix: all('\n        AND starts_with(stream_id, $3)'),
      allBoth: all('\n        AND event_type = ANY($3::text[]) AND starts_with(stream_id, $4)'),
    };
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreClosedError();
  }

  async #query<R>(key: StatementKey, params: unknown[], ctx: ErrorContext): Promise<R[]> {
    try {
      return await this.#driver.query<R>(this.#sql[key], params, `${this.#names}_${key}`);
    } catch (err) {
      throw mapError(err, ctx);
    }
  }

  async append(
    streamId: string,
    events: readonly NewEvent[],
    options?: AppendOptions,
  ): Promise<AppendResult> {
    this.#assertOpen();
    const p = prepareAppend(streamId, events, options, this.capabilities);
    const expected =
      p.expectedVersion === 'any' ? -1 : p.expectedVersion === 'stream_exists' ? -2 : p.expectedVersion;
    const n = p.events.length;
    const ids = new Array<string>(n);
    const types = new Array<string>(n);
    const data = new Array<string>(n);
    const metadata = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      const e = p.events[i]!;
      ids[i] = e.id;
      types[i] = e.type;
      data[i] = e.dataJson;
      metadata[i] = e.metadataJson;
    }
    const ctx: ErrorContext = {
      operation: 'append',
      streamId: p.streamId,
      expectedVersion: p.requestedExpectedVersion,
    };
    const rows = await this.#query<AppendRow>(
      'append',
      [p.streamId, expected, ids, types, data, metadata],
      ctx,
    );
    const row = rows[0]!;
    const version = Number(row.o_version);
    if (row.o_status === 'conflict') {
      throw new WrongExpectedVersionError(p.streamId, p.requestedExpectedVersion, version, {
        reason: row.o_reason ?? undefined,
      });
    }
    return {
      nextExpectedVersion: version,
      lastPosition: row.o_position === null ? null : BigInt(row.o_position),
    };
  }

  async *readStream(streamId: string, options?: ReadStreamOptions): AsyncIterable<RecordedEvent> {
    this.#assertOpen();
    const { direction, fromVersion, maxCount } = prepareReadStream(streamId, options);
    const ctx: ErrorContext = { operation: 'readStream', streamId };
    const forwards = direction === 'forwards';
    let next: string | number = forwards ? Math.max(fromVersion ?? 1, 1) : (fromVersion ?? MAX_BIGINT);
    let remaining = maxCount;
    while (remaining > 0) {
      const limit = Math.min(remaining, this.#pageSize);
      const rows = await this.#query<EventRow>(
        forwards ? 'forwards' : 'backwards',
        [streamId, next, limit],
        ctx,
      );
      for (const row of rows) {
        this.#assertOpen();
        yield toRecorded(row);
      }
      remaining -= rows.length;
      if (rows.length < limit) return;
      const last = Number(rows[rows.length - 1]!.version);
      next = forwards ? last + 1 : last - 1;
      if (next < 1) return;
    }
  }

  async *readAll(options?: ReadAllOptions): AsyncIterable<RecordedEvent> {
    this.#assertOpen();
    const { after, maxCount, eventTypes, streamPrefix } = prepareReadAll(options);
    const ctx: ErrorContext = { operation: 'readAll' };
    const key: StatementKey = eventTypes
      ? streamPrefix !== undefined
        ? 'allBoth'
        : 'allTypes'
      : streamPrefix !== undefined
        ? 'allPrefix'
        : 'all';
    const filters: unknown[] = [];
    if (eventTypes) filters.push(eventTypes);
    if (streamPrefix !== undefined) filters.push(streamPrefix);
    let cursor = after.toString();
    let remaining = maxCount;
    while (remaining > 0) {
      const limit = Math.min(remaining, this.#pageSize);
      const rows = await this.#query<EventRow>(key, [cursor, limit, ...filters], ctx);
      for (const row of rows) {
        this.#assertOpen();
        yield toRecorded(row);
      }
      remaining -= rows.length;
      if (rows.length < limit) return;
      cursor = rows[rows.length - 1]!.position;
    }
  }

  async streamVersion(streamId: string): Promise<number> {
    this.#assertOpen();
    const id = validateStreamId(streamId);
    const rows = await this.#query<{ version: string }>('version', [id], {
      operation: 'streamVersion',
      streamId: id,
    });
    return rows.length === 0 ? 0 : Number(rows[0]!.version);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#driver.close();
  }
}
