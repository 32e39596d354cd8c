import type {
  PreparedDeleteStream,
  PreparedSetStreamMetadata,
  PreparedTruncateStream,
} from '../../adapter/index.js';
import {
  type DeleteStreamResult,
  type ExpectedVersion,
  InvalidArgumentError,
  type JsonObject,
  type RetentionResult,
  StreamDeletedError,
  type StreamMetadata,
  type StreamMetadataResult,
  WrongExpectedVersionError,
} from '../../contract/index.js';
import type { ErrorContext } from './map-error.js';

/** The lifecycle statements, for the schema `s` (quoted). Functions are in migration 0006_stream_lifecycle.sql. */
export function lifecycleStatements(s: string) {
  return {
    deleteStream: `SELECT o_status, o_version::text AS o_version FROM ${s}.delete_stream($1, $2, $3)`,
    truncateStream: `SELECT o_status, o_version::text AS o_version FROM ${s}.truncate_stream($1, $2, $3)`,
    setMetadata: `SELECT o_status, o_metadata_version::text AS o_metadata_version
      FROM ${s}.set_stream_metadata($1, $2, $3, $4, $5, $6)`,
    getMetadata: `SELECT st.deleted, st.truncate_before::text AS truncate_before,
        m.metadata_version::text AS metadata_version, m.max_count::text AS max_count, m.max_age::text AS max_age,
        m.custom::text AS custom
      FROM (SELECT $1::text AS id) x
      LEFT JOIN ${s}.streams st ON st.stream_id = x.id
      LEFT JOIN ${s}.stream_metadata m ON m.stream_id = x.id`,
    // readStream's first page with the stream's state in one round trip: always one row with the state (event
    // columns null when the page is empty), then one per further event. $2 is the first version, $3 the limit.
    forwardsFirst: readFirst(s, 'version >= $2', 'version'),
    backwardsFirst: readFirst(s, 'version <= $2', 'version DESC'),
    // One batch of the retention sweep: at most $1 rows that retention hides, in the next $3 streams with retention
    // after $2 (stream id order), each stream's oldest first. Every step is an index probe: the streams through
    // stream_metadata's key; each stream's row through its key; in each stream, a window of at most $1 versions
    // from its oldest row through (stream_id, version); the rows to delete through the primary key. `OFFSET 0`
    // keeps the planner from turning the per-stream probes into joins over whole tables.
    enforceRetention: `WITH ms AS MATERIALIZED (
        SELECT m.stream_id, m.max_count, m.max_age FROM ${s}.stream_metadata m
         WHERE m.stream_id > $2 AND (m.max_count IS NOT NULL OR m.max_age IS NOT NULL)
         ORDER BY m.stream_id LIMIT $3),
      doomed AS MATERIALIZED (
        SELECT ev.global_position FROM ms
          CROSS JOIN LATERAL (
            SELECT st.version FROM ${s}.streams st WHERE st.stream_id = ms.stream_id OFFSET 0) st
          CROSS JOIN LATERAL (
            SELECT min(e0.version) AS lo FROM ${s}.events e0 WHERE e0.stream_id = ms.stream_id) f
          CROSS JOIN LATERAL (
            SELECT e.global_position FROM ${s}.events e
             WHERE e.stream_id = ms.stream_id AND e.version >= f.lo AND e.version < f.lo + $1
               AND e.version <= st.version - CASE WHEN ms.max_age IS NULL THEN ms.max_count ELSE 0 END
               AND (e.version <= st.version - ms.max_count
                    OR e.created_at <= now() - ms.max_age * interval '1 second')
             ORDER BY e.version LIMIT $1 OFFSET 0) ev
         LIMIT $1),
      gone AS (
        DELETE FROM ${s}.events d WHERE d.global_position = ANY (ARRAY(SELECT global_position FROM doomed))
        RETURNING 1)
      SELECT (SELECT count(*) FROM doomed)::int AS found, (SELECT count(*) FROM gone)::int AS removed,
        (SELECT count(*) FROM ms)::int AS streams, (SELECT max(stream_id) FROM ms) AS last_stream`,
  } as const;
}

/** The event columns of a read; the store's `EventRow`. */
export const EVENT_COLUMNS = `global_position::text AS position, stream_id, version, id::text AS id, event_type,
  event_data::text AS event_data, metadata::text AS metadata,
  (extract(epoch FROM created_at) * 1000)::float8 AS created_ms`;

/** What readStream must hide (tombstone, maxCount, maxAge), joined with the first page of `range` in `order`. */
function readFirst(s: string, range: string, order: string): string {
  return `WITH x AS (
      SELECT coalesce(st.deleted, 0) AS deleted,
        CASE WHEN m.max_count IS NULL THEN 1 ELSE st.version - m.max_count + 1 END AS min_version,
        CASE WHEN m.max_age IS NULL THEN '-infinity'::timestamptz
             ELSE now() - m.max_age * interval '1 second' END AS created_after
        FROM (SELECT $1::text AS id) i
        LEFT JOIN ${s}.streams st ON st.stream_id = i.id
        LEFT JOIN ${s}.stream_metadata m ON m.stream_id = i.id)
    SELECT x.deleted, x.min_version::text AS min_version, x.created_after::text AS created_after, ev.*
      FROM x LEFT JOIN LATERAL (
        SELECT ${EVENT_COLUMNS} FROM ${s}.events
         WHERE stream_id = $1 AND ${range} AND version >= x.min_version AND created_at > x.created_after
           AND x.deleted <> 2
         ORDER BY ${order} LIMIT $3) ev ON true`;
}

/** readAll's condition that hides what retention hides (truncated and deleted rows are gone already). */
export function retentionFilter(s: string, alias: string): string {
  return `
        AND NOT EXISTS (SELECT 1 FROM ${s}.stream_metadata m JOIN ${s}.streams st ON st.stream_id = m.stream_id
          WHERE m.stream_id = ${alias}.stream_id
            AND (${alias}.version <= st.version - m.max_count
                 OR ${alias}.created_at <= now() - m.max_age * interval '1 second'))`;
}

export type LifecycleKey = keyof ReturnType<typeof lifecycleStatements>;

/** The contract operation each statement serves, for error messages. */
export const OPERATIONS: Readonly<Record<LifecycleKey, ErrorContext['operation']>> = {
  deleteStream: 'deleteStream',
  truncateStream: 'truncateStream',
  setMetadata: 'setStreamMetadata',
  getMetadata: 'getStreamMetadata',
  forwardsFirst: 'readStream',
  backwardsFirst: 'readStream',
  enforceRetention: 'enforceRetention',
};

/** Runs one lifecycle statement: the store's query with its error mapping. */
export type LifecycleQuery = <R>(key: LifecycleKey, params: unknown[], streamId?: string) => Promise<R[]>;

/** -1 for 'any', -2 for 'stream_exists', else the exact version, as the SQL functions take it. */
export function expectedParam(expected: 'any' | 'stream_exists' | number): number {
  return expected === 'any' ? -1 : expected === 'stream_exists' ? -2 : expected;
}

interface StatusRow {
  o_status: 'done' | 'conflict' | 'deleted' | 'invalid' | 'backwards';
  o_version?: string;
  o_metadata_version?: string;
}

function fail(
  row: StatusRow,
  streamId: string,
  expected: ExpectedVersion,
  what: string,
  argument: string,
): never {
  const version = Number(row.o_version ?? row.o_metadata_version);
  if (row.o_status === 'deleted') throw new StreamDeletedError(streamId);
  if (row.o_status === 'conflict') {
    throw new WrongExpectedVersionError(streamId, expected, version, {
      reason: `${what} at a wrong expected version`,
    });
  }
  throw new InvalidArgumentError(
    row.o_status === 'backwards'
      ? `Stream '${streamId}': ${argument} is below the stream's; a truncation cannot be undone`
      : `Stream '${streamId}': ${argument} is past the stream's end`,
    { argument, streamId },
  );
}

export async function deleteStream(q: LifecycleQuery, p: PreparedDeleteStream): Promise<DeleteStreamResult> {
  const [row] = await q<StatusRow>(
    'deleteStream',
    [p.streamId, expectedParam(p.expectedVersion), p.hard],
    p.streamId,
  );
  if (row!.o_status !== 'done') fail(row!, p.streamId, p.expectedVersion, 'delete', 'expectedVersion');
  return { version: Number(row!.o_version) };
}

export async function truncateStream(q: LifecycleQuery, p: PreparedTruncateStream): Promise<void> {
  const params = [p.streamId, p.before, expectedParam(p.expectedVersion)];
  const [row] = await q<StatusRow>('truncateStream', params, p.streamId);
  if (row!.o_status !== 'done') fail(row!, p.streamId, p.expectedVersion, 'truncate', 'options.before');
}

export async function setStreamMetadata(
  q: LifecycleQuery,
  p: PreparedSetStreamMetadata,
): Promise<{ metadataVersion: number }> {
  const { maxCount, maxAge, truncateBefore, custom } = p.metadata;
  const expected = p.expectedMetadataVersion === 'any' ? -1 : p.expectedMetadataVersion;
  const params = [
    p.streamId,
    expected,
    maxCount ?? null,
    maxAge ?? null,
    truncateBefore ?? null,
    custom === undefined ? null : JSON.stringify(custom),
  ];
  const [row] = await q<StatusRow>('setMetadata', params, p.streamId);
  if (row!.o_status !== 'done') {
    fail(row!, p.streamId, p.expectedMetadataVersion, 'metadata write', 'metadata.truncateBefore');
  }
  return { metadataVersion: Number(row!.o_metadata_version) };
}

export async function getStreamMetadata(q: LifecycleQuery, streamId: string): Promise<StreamMetadataResult> {
  const [row] = await q<{
    deleted: number | null;
    truncate_before: string | null;
    metadata_version: string | null;
    max_count: string | null;
    max_age: string | null;
    custom: string | null;
  }>('getMetadata', [streamId], streamId);
  if (row!.deleted === 2) throw new StreamDeletedError(streamId);
  const metadata: StreamMetadata = {};
  if (row!.max_count !== null) metadata.maxCount = Number(row!.max_count);
  if (row!.max_age !== null) metadata.maxAge = Number(row!.max_age);
  if (row!.truncate_before !== null && Number(row!.truncate_before) > 1) {
    metadata.truncateBefore = Number(row!.truncate_before);
  }
  if (row!.custom !== null) metadata.custom = JSON.parse(row!.custom) as JsonObject;
  return { metadata, metadataVersion: Number(row!.metadata_version ?? 0) };
}

/** Streams with retention that one batch of the sweep visits. */
const SWEEP_STREAMS = 100;

/**
 * Deletes what retention hides in batches of at most `batch` rows, each one statement and its own short transaction,
 * without the streams' locks (an append never touches an old row), walking the streams with retention once in
 * stream id order. A batch that finds `batch` rows is followed by one from the same stream on (it may have more);
 * one that finds fewer has finished its streams.
 */
export async function enforceRetention(
  q: LifecycleQuery,
  batch: number,
  closing: () => boolean,
): Promise<RetentionResult> {
  let removedEvents = 0;
  let after = '';
  for (;;) {
    const [row] = await q<{ found: number; removed: number; streams: number; last_stream: string | null }>(
      'enforceRetention',
      [batch, after, SWEEP_STREAMS],
    );
    removedEvents += row!.removed;
    if (closing()) return { removedEvents };
    if (row!.found >= batch) continue;
    if (row!.streams < SWEEP_STREAMS || row!.last_stream === null) return { removedEvents };
    after = row!.last_stream;
  }
}
