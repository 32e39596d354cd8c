import { createHash } from 'node:crypto';
import {
  BaseEventStore,
  type BaseEventStoreOptions,
  type PreparedAppend,
  type PreparedDeleteStream,
  type PreparedReadAll,
  type PreparedReadStream,
  type PreparedSetStreamMetadata,
  type PreparedSnapshot,
  type PreparedTruncateStream,
} from '../../adapter/index.js';
import {
  type AppendResult,
  type Capabilities,
  type DeleteStreamResult,
  ErrorCodes,
  EventStoreError,
  isEventStoreError,
  type JsonObject,
  type JsonValue,
  MAX_EVENT_TYPE_BYTES,
  MAX_POSITION_INT64,
  type RecordedEvent,
  type RetentionResult,
  type Snapshot,
  StreamDeletedError,
  type StreamMetadataResult,
  WrongExpectedVersionError,
} from '../../contract/index.js';
import type { GroupCommitter } from '../../internal/group-commit.js';
import type { SqlDriver } from './driver.js';
import { type AppendRow, postgresGroupCommitter } from './group-commit.js';
import * as lifecycle from './lifecycle.js';
import { type ErrorContext, mapError } from './map-error.js';
import { ORDINAL_BITS } from './positions.js';
import { quoteIdent, schemaLockKey } from './schema.js';
import * as snapshots from './snapshots.js';
import {
  Notifier,
  type PostgresTransaction,
  type SubscriptionKey,
  subscriptionStatements,
} from './subscriptions.js';

export interface PostgresEventStoreOptions extends BaseEventStoreOptions {
  /** The schema that holds the tables. Defaults to `eventstore`. */
  schema?: string;
  /** Create or upgrade the schema when the store opens. Defaults to true. */
  autoCreate?: boolean;
  /** Rows fetched per round trip by readStream/readAll (keyset pages). Defaults to 1000. */
  pageSize?: number;
  /**
   * Group commit (on by default): at most `maxInFlight` (default 1) group transactions run at once per store, and
   * the appends that arrive while they are all busy are sent together as one transaction, each append keeping its
   * own atomicity and outcome. An append that finds a free slot goes at once, so an idle store adds no latency.
   * Appends of more than 100 events or 256 KiB always go alone. `false` sends every append as its own
   * transaction, as many at once as the pool allows.
   */
  groupCommit?: false | { maxInFlight?: number };
}

/** Transactions in flight per store with group commit: measured in `npm run bench:postgres` (docs/postgres.md). */
export const DEFAULT_MAX_IN_FLIGHT = 1;

/** The declared limits. 100,000 events per append stays well inside the 2^20 ordinals a position can encode. */
export const POSTGRES_CAPABILITIES: Capabilities = Object.freeze({
  maxEventsPerAppend: 100_000,
  maxEventBytes: 32 * 1024 * 1024,
  maxEventTypeBytes: MAX_EVENT_TYPE_BYTES,
  maxPosition: MAX_POSITION_INT64,
  maxAppendBytes: 64 * 1024 * 1024,
  idempotencyWindow: 'stream' as const,
  lifecycle: true,
  snapshots: true,
  preserveCreatedAt: true,
  importFirstVersion: true,
  transactionalSubscriptions: true,
});

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

const COLUMNS = lifecycle.EVENT_COLUMNS;

type StatementKey =
  | lifecycle.LifecycleKey
  | snapshots.SnapshotKey
  | SubscriptionKey
  | 'append'
  | 'appendBatch'
  | 'importCreatedAt'
  | 'importLock'
  | 'importStart'
  | 'version'
  | 'forwards'
  | 'backwards'
  | 'all'
  | 'allTypes'
  | 'allPrefix'
  | 'allBoth';

const MAX_BIGINT = '9223372036854775807';

/** `append_events`' `p_expected`: -1 for 'any', -2 for 'stream_exists', else the exact version. */
function expectedParam(p: PreparedAppend): number {
  return p.expectedVersion === 'any' ? -1 : p.expectedVersion === 'stream_exists' ? -2 : p.expectedVersion;
}

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
/** What the store's constructor takes once the factories have checked the options. */
export interface PostgresStoreSettings extends BaseEventStoreOptions {
  schema: string;
  pageSize: number;
  /** The group committer's transactions in flight, or `undefined` for no group commit. */
  maxInFlight: number | undefined;
}

export class PostgresEventStore extends BaseEventStore {
  readonly capabilities: Capabilities = POSTGRES_CAPABILITIES;
  readonly #driver: SqlDriver;
  readonly #pageSize: number;
  readonly #sql: Readonly<Record<StatementKey, string>>;
  readonly #names: string;
  readonly #committer: GroupCommitter<PreparedAppend, AppendRow> | undefined;
  /** The NOTIFY channel of this schema's wake-up hints, and its sender (node-postgres only). */
  readonly #channel: string;
  readonly #notifier: Notifier | undefined;

  /** Use the factories in `eventstore-kit/postgres`; they validate the options and run migrations. */
  constructor(driver: SqlDriver, settings: PostgresStoreSettings) {
    super(settings);
    const { schema, pageSize, maxInFlight } = settings;
    this.#driver = driver;
    this.#pageSize = pageSize;
    this.#names = `es_${schema}`;
    this.#channel = `eventstore_${createHash('sha256').update(schema).digest('hex').slice(0, 24)}`;
    this.#notifier =
      driver.listen === undefined
        ? undefined
        : new Notifier(() => this.#driver.query(this.#sql.notify, [this.#channel], `${this.#names}_notify`));
    const s = quoteIdent(schema);
    const all = (extra: string) => `SELECT ${COLUMNS} FROM ${s}.events ev
      WHERE global_position > $1
        AND global_position < (pg_snapshot_xmin(pg_current_snapshot())::text::bigint << ${ORDINAL_BITS})${extra}${lifecycle.retentionFilter(s, 'ev')}
      ORDER BY global_position LIMIT $2`;
    this.#sql = {
      append: `SELECT o_status, o_version::text AS o_version, o_position::text AS o_position, o_reason
        FROM ${s}.append_events($1, $2, $3::uuid[], $4::text[], $5::text[], $6::text[])`,
      appendBatch: `SELECT o_index, o_status, o_version::text AS o_version, o_position::text AS o_position, o_reason
        FROM ${s}.append_events_batch($1::text[], $2::bigint[], $3::integer[], $4::integer[], $5::uuid[],
          $6::text[], $7::text[], $8::text[])`,
      // The recorded times of an import's rows, which append_events (in the same transaction) just wrote.
      importCreatedAt: `UPDATE ${s}.events ev SET created_at = t.created_at
        FROM unnest($3::uuid[], $4::timestamptz[]) AS t(id, created_at)
        WHERE ev.stream_id = $1 AND ev.id = t.id AND ev.version > $2`,
      // An import past version 1 (`firstVersion`): the stream's advisory lock (the one append_events takes, taken
      // again there at no cost), then a stream that never had an event moves to $2 - 1 with the versions below $2
      // truncated, which is all a truncation is (truncated rows are deleted, and there are none). append_events then
      // appends at $2 - 1 as usual, in the same transaction.
      importLock: `SELECT pg_advisory_xact_lock(${schemaLockKey(schema)}, hashtext($1))`,
      importStart: `INSERT INTO ${s}.streams AS st (stream_id, version, last_position, truncate_before)
        VALUES ($1, $2::bigint - 1, 0, $2::bigint)
        ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, truncate_before = excluded.truncate_before,
          updated_at = now()
        WHERE st.version = 0 AND st.deleted = 0`,
      ...lifecycle.lifecycleStatements(s),
      ...snapshots.snapshotStatements(s),
      ...subscriptionStatements(s),
      version: `SELECT version::text AS version, deleted FROM ${s}.streams WHERE stream_id = $1`,
      // $4 and $5 hide what retention hides, as the first page's forwardsFirst/backwardsFirst computed it.
      forwards: `SELECT ${COLUMNS} FROM ${s}.events WHERE stream_id = $1 AND version >= $2
        AND version >= $4 AND created_at > $5::timestamptz ORDER BY version LIMIT $3`,
      backwards: `SELECT ${COLUMNS} FROM ${s}.events WHERE stream_id = $1 AND version <= $2
        AND version >= $4 AND created_at > $5::timestamptz ORDER BY version DESC LIMIT $3`,
      all: all(''),
      allTypes: all('\n        AND event_type = ANY($3::text[])'),
      allPrefix: all('\n        AND starts_with(stream_id, $3)'),
      allBoth: all('\n        AND event_type = ANY($3::text[]) AND starts_with(stream_id, $4)'),
    };
    this.#committer =
      maxInFlight === undefined
        ? undefined
        : postgresGroupCommitter(
            {
              one: (a) => this.#appendOne(a),
              many: (a) => this.#appendMany(a),
              // A broken connection leaves the batch's outcome unknown, and a timeout would recur one by one;
              // any other error means the server rolled the whole batch back.
              isShared: (err) => {
                if (isEventStoreError(err)) return true;
                const code = mapError(err, { operation: 'append' }).code;
                return code === ErrorCodes.UNAVAILABLE || code === ErrorCodes.TIMEOUT;
              },
            },
            {
              maxInFlight,
              maxEventsToGroup: 100,
              maxBytesToGroup: 256 * 1024,
              maxGroupEvents: 2_000,
              maxGroupBytes: 4 * 1024 * 1024,
            },
          );
  }

  /** Transactions the group committer has sent (appends alone included), for tests and the benchmark. */
  get commitTransactions(): number {
    return this.#committer?.commits ?? 0;
  }

  async #query<R>(key: StatementKey, params: unknown[], ctx: ErrorContext): Promise<R[]> {
    try {
      return await this.#driver.query<R>(this.#sql[key], params, `${this.#names}_${key}`);
    } catch (err) {
      throw mapError(err, ctx);
    }
  }

  protected async _append(p: PreparedAppend): Promise<AppendResult> {
    let row: AppendRow;
    try {
      row = await (p.events[0]?.createdAt !== undefined
        ? this.#importOne(p)
        : this.#committer
          ? this.#committer.submit(p)
          : this.#appendOne(p));
    } catch (err) {
      throw mapError(err, {
        operation: 'append',
        streamId: p.streamId,
        expectedVersion: p.requestedExpectedVersion,
      });
    }
    const version = Number(row.o_version);
    if (row.o_status === 'written') this.#notifier?.poke();
    if (row.o_status === 'deleted') throw new StreamDeletedError(p.streamId);
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

  /** One append, its own transaction. Rejects with the driver's error. */
  async #appendOne(p: PreparedAppend): Promise<AppendRow> {
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
    const rows = await this.#driver.query<AppendRow>(
      this.#sql.append,
      [p.streamId, expectedParam(p), ids, types, data, metadata],
      `${this.#names}_append`,
    );
    return rows[0]!;
  }

  /**
   * An import (`preserveCreatedAt`): `append_events`, then, if it wrote the events, their recorded times, in one
   * transaction; outside group commit. The append function stamps `now()`, and the rows it wrote are visible to the
   * next statement of the transaction, so the append's rules stay in one place. Rejects with the driver's error.
   */
  async #importOne(p: PreparedAppend): Promise<AppendRow> {
    const n = p.events.length;
    const ids = new Array<string>(n);
    const types = new Array<string>(n);
    const data = new Array<string>(n);
    const metadata = new Array<string>(n);
    const times = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      const e = p.events[i]!;
      ids[i] = e.id;
      types[i] = e.type;
      data[i] = e.dataJson;
      metadata[i] = e.metadataJson;
      times[i] = new Date(e.createdAt!).toISOString();
    }
    return this.#driver.transaction(async (tx) => {
      if (p.firstVersion !== undefined && p.firstVersion > 1) {
        await tx.query(this.#sql.importLock, [p.streamId]);
        await tx.query(this.#sql.importStart, [p.streamId, p.firstVersion]);
      }
      const [row] = await tx.query<AppendRow>(this.#sql.append, [
        p.streamId,
        expectedParam(p),
        ids,
        types,
        data,
        metadata,
      ]);
      if (row!.o_status === 'written') {
        await tx.query(this.#sql.importCreatedAt, [p.streamId, Number(row!.o_version) - n, ids, times]);
      }
      return row!;
    });
  }

  /** Several appends in one transaction (group commit). Rejects with the driver's error. */
  async #appendMany(group: readonly PreparedAppend[]): Promise<AppendRow[]> {
    const streams: string[] = [];
    const expected: number[] = [];
    const counts: number[] = [];
    const members: number[] = [];
    const ids: string[] = [];
    const types: string[] = [];
    const data: string[] = [];
    const metadata: string[] = [];
    for (const [i, p] of group.entries()) {
      streams.push(p.streamId);
      expected.push(expectedParam(p));
      counts.push(p.events.length);
      for (const e of p.events) {
        members.push(i + 1);
        ids.push(e.id);
        types.push(e.type);
        data.push(e.dataJson);
        metadata.push(e.metadataJson);
      }
    }
    const rows = await this.#driver.query<AppendRow & { o_index: number }>(
      this.#sql.appendBatch,
      [streams, expected, counts, members, ids, types, data, metadata],
      `${this.#names}_appendBatch`,
    );
    const byMember: Array<AppendRow | undefined> = Array.from({ length: group.length }, () => undefined);
    for (const row of rows) byMember[row.o_index - 1] = row;
    if (rows.length !== group.length || !byMember.every((row) => row !== undefined)) {
      // Committed, but the answer cannot be matched to the appends: not a result to guess from.
      throw new EventStoreError(
        ErrorCodes.BACKEND_ERROR,
        'append_events_batch returned an unexpected result; the appends may have been written',
      );
    }
    return byMember as AppendRow[];
  }

  protected async *_readStream(prepared: PreparedReadStream): AsyncIterable<RecordedEvent> {
    const { streamId, direction, fromVersion, maxCount } = prepared;
    const forwards = direction === 'forwards';
    const first: string | number = forwards ? Math.max(fromVersion ?? 1, 1) : (fromVersion ?? MAX_BIGINT);
    const ctx: ErrorContext = { operation: 'readStream', streamId };
    // The first page comes with the stream's state (what to hide), in one round trip; the next pages apply it.
    const rows = await this.#query<
      EventRow & { deleted: number; min_version: string; created_after: string }
    >(
      forwards ? 'forwardsFirst' : 'backwardsFirst',
      [streamId, first, Math.min(maxCount, this.#pageSize)],
      ctx,
    );
    const state = rows[0]!;
    if (state.deleted === 2) throw new StreamDeletedError(streamId);
    yield* this.#pages(
      forwards ? 'forwards' : 'backwards',
      ctx,
      maxCount,
      first,
      (version, limit) => [streamId, version, limit, state.min_version, state.created_after],
      (row) => {
        const next = Number(row.version) + (forwards ? 1 : -1);
        return next < 1 ? undefined : next;
      },
      state.position === null ? [] : rows,
    );
  }

  protected async *_readAll(prepared: PreparedReadAll): AsyncIterable<RecordedEvent> {
    const { after, maxCount, eventTypes, streamPrefix } = prepared;
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
    yield* this.#pages(
      key,
      { operation: 'readAll' },
      maxCount,
      after.toString(),
      (position, limit) => [position, limit, ...filters],
      (row) => row.position,
    );
  }

  /**
   * Up to `maxCount` events of `key`, in keyset pages: `params(cursor, limit)` for each page, starting at `first`;
   * `after(row)` is the next page's cursor (`undefined`: nothing follows). The next page's query goes out as soon as
   * a page arrives, so the database works on it while the caller consumes this one: at most two pages are held.
   * `firstPage`, when given, is the first page already read (readStream's, read with the stream's state).
   */
  async *#pages<C>(
    key: StatementKey,
    ctx: ErrorContext,
    maxCount: number,
    first: C,
    params: (cursor: C, limit: number) => unknown[],
    after: (row: EventRow) => C | undefined,
    firstPage?: EventRow[],
  ): AsyncIterable<RecordedEvent> {
    let remaining = maxCount;
    let limit = Math.min(remaining, this.#pageSize);
    let pending: Promise<EventRow[]> | undefined = firstPage
      ? Promise.resolve(firstPage)
      : this.#prefetch(key, params(first, limit), ctx);
    while (pending !== undefined) {
      const rows: EventRow[] = await pending;
      pending = undefined;
      remaining -= rows.length;
      const cursor = rows.length === limit && remaining > 0 ? after(rows[rows.length - 1]!) : undefined;
      if (cursor !== undefined) {
        limit = Math.min(remaining, this.#pageSize);
        pending = this.#prefetch(key, params(cursor, limit), ctx);
      }
      for (const row of rows) yield toRecorded(row);
    }
  }

  /**
   * A page query whose failure is marked handled at once: it may fail while the caller is still on the page before,
   * or never be awaited if the caller stops early. Awaiting it still throws.
   */
  #prefetch(key: StatementKey, params: unknown[], ctx: ErrorContext): Promise<EventRow[]> {
    const rows = this.#query<EventRow>(key, params, ctx);
    rows.catch(() => {});
    return rows;
  }

  protected override async _streamVersion(id: string): Promise<number> {
    const rows = await this.#query<{ version: string; deleted: number }>('version', [id], {
      operation: 'streamVersion',
      streamId: id,
    });
    if (rows[0]?.deleted === 2) throw new StreamDeletedError(id);
    return rows.length === 0 ? 0 : Number(rows[0]!.version);
  }

  /** A lifecycle statement through the store's error mapping. */
  readonly #lifecycleQuery: lifecycle.LifecycleQuery = (key, params, streamId) =>
    this.#query(key, params, {
      operation: lifecycle.OPERATIONS[key],
      ...(streamId === undefined ? {} : { streamId }),
    });

  protected override _deleteStream(p: PreparedDeleteStream): Promise<DeleteStreamResult> {
    return lifecycle.deleteStream(this.#lifecycleQuery, p);
  }

  protected override _truncateStream(p: PreparedTruncateStream): Promise<void> {
    return lifecycle.truncateStream(this.#lifecycleQuery, p);
  }

  protected override _getStreamMetadata(streamId: string): Promise<StreamMetadataResult> {
    return lifecycle.getStreamMetadata(this.#lifecycleQuery, streamId);
  }

  protected override _setStreamMetadata(p: PreparedSetStreamMetadata): Promise<{ metadataVersion: number }> {
    return lifecycle.setStreamMetadata(this.#lifecycleQuery, p);
  }

  protected override _enforceRetention(): Promise<RetentionResult> {
    return lifecycle.enforceRetention(this.#lifecycleQuery, 1_000, () => this.closing);
  }

  readonly #snapshotQuery: snapshots.SnapshotQuery = (key, params, streamId) =>
    this.#query(key, params, { operation: key, streamId });

  protected override _saveSnapshot(p: PreparedSnapshot): Promise<void> {
    return snapshots.saveSnapshot(this.#snapshotQuery, p);
  }

  protected override _loadSnapshot(streamId: string): Promise<Snapshot | null> {
    return snapshots.loadSnapshot(this.#snapshotQuery, streamId);
  }

  protected override async _loadCheckpoint(name: string): Promise<bigint | undefined> {
    const rows = await this.#query<{ position: string }>('loadCheckpoint', [name], {
      operation: 'checkpoints',
    });
    return rows.length === 0 ? undefined : BigInt(rows[0]!.position);
  }

  protected override async _saveCheckpoint(name: string, position: bigint): Promise<void> {
    await this.#query('saveCheckpoint', [name, position.toString()], { operation: 'checkpoints' });
  }

  protected override async _deleteCheckpoint(name: string): Promise<void> {
    await this.#query('deleteCheckpoint', [name], { operation: 'checkpoints' });
  }

  /** A lease row per name (migration 0007), taken with one conditional upsert. */
  protected override async _acquireLease(name: string, owner: string, ttlMs: number): Promise<boolean> {
    const rows = await this.#query('acquireLease', [name, owner, ttlMs], { operation: 'subscribe' });
    return rows.length > 0;
  }

  protected override async _releaseLease(name: string, owner: string): Promise<void> {
    await this.#query('releaseLease', [name, owner], { operation: 'subscribe' });
  }

  /** LISTEN on a connection of its own (node-postgres); PGlite is in process, where appends wake subscriptions. */
  protected override _listen(wake: () => void): Promise<() => Promise<void>> {
    return this.#driver.listen ? this.#driver.listen(this.#channel, wake) : super._listen(wake);
  }

  /**
   * Live reads at most every 10 ms per subscription: under a stream of commits each NOTIFY would otherwise start a
   * readAll, taking server time from the writers (bench:subscriptions, appends at c=8 with one subscriber ÷ none).
   */
  protected override _liveReadIntervalMs(): number {
    return 10;
  }

  protected override async _lastPosition(): Promise<bigint> {
    const rows = await this.#query<{ position: string }>('lastPosition', [], { operation: 'subscribe' });
    return BigInt(rows[0]!.position);
  }

  /**
   * The handler's statements, the lease check (its row locked FOR SHARE until commit, so no other instance takes
   * over meanwhile) and the checkpoint upsert, in one transaction.
   */
  protected override async _runTransactional(
    name: string,
    owner: string,
    position: bigint,
    run: (tx: unknown) => Promise<void>,
  ): Promise<boolean> {
    let failed: { error: unknown } | undefined;
    try {
      return await this.#driver.transaction(async (tx) => {
        const held = await tx.query(this.#sql.holdLease, [name, owner]);
        if (held.length === 0) return false;
        const handle: PostgresTransaction = { query: (text, params) => tx.query(text, params) };
        try {
          await run(handle);
        } catch (error) {
          failed = { error };
          throw error;
        }
        await tx.query(this.#sql.saveCheckpoint, [name, position.toString()]);
        return true;
      });
    } catch (err) {
      if (failed !== undefined && failed.error === err) throw err;
      throw mapError(err, { operation: 'subscribe' });
    }
  }

  /**
   * Runs once every accepted call has settled. An append that passed its deadline may still sit in the group
   * committer: it is sent (or fails) before the pool ends, so nothing is written after `close()` resolves.
   */
  protected override async _close(): Promise<void> {
    await this.#committer?.drained();
    await this.#notifier?.drained();
    await this.#driver.close();
  }
}
