import type { PreparedSnapshot } from '../../adapter/index.js';
import { type JsonValue, type Snapshot, StreamDeletedError } from '../../contract/index.js';

/** The snapshot statements, for the schema `s` (quoted). The table and function are in migration 0008_snapshots.sql. */
export function snapshotStatements(s: string) {
  return {
    saveSnapshot: `SELECT o_status FROM ${s}.save_snapshot($1, $2, $3, $4)`,
    loadSnapshot: `SELECT coalesce(st.deleted, 0) AS deleted, sn.version::text AS version,
        sn.schema_version, sn.state::text AS state
      FROM (SELECT $1::text AS id) x
      LEFT JOIN ${s}.streams st ON st.stream_id = x.id
      LEFT JOIN ${s}.snapshots sn ON sn.stream_id = x.id`,
  } as const;
}

export type SnapshotKey = keyof ReturnType<typeof snapshotStatements>;

/** Runs one snapshot statement: the store's query with its error mapping. */
export type SnapshotQuery = <R>(key: SnapshotKey, params: unknown[], streamId: string) => Promise<R[]>;

export async function saveSnapshot(q: SnapshotQuery, p: PreparedSnapshot): Promise<void> {
  const params = [p.streamId, p.version, p.schemaVersion, p.stateJson];
  const [row] = await q<{ o_status: 'saved' | 'deleted' }>('saveSnapshot', params, p.streamId);
  if (row!.o_status === 'deleted') throw new StreamDeletedError(p.streamId);
}

export async function loadSnapshot(q: SnapshotQuery, streamId: string): Promise<Snapshot | null> {
  const [row] = await q<{
    deleted: number;
    version: string | null;
    schema_version: number | null;
    state: string | null;
  }>('loadSnapshot', [streamId], streamId);
  if (row!.deleted === 2) throw new StreamDeletedError(streamId);
  if (row!.version === null) return null;
  return {
    state: JSON.parse(row!.state!) as JsonValue,
    version: Number(row!.version),
    schemaVersion: row!.schema_version!,
  };
}
