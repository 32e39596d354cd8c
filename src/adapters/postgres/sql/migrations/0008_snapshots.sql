-- Snapshots (docs/snapshots.md): one row per stream holding the state of a fold at a version, replaced by each save.
-- Migration 0005 dropped the unused snapshots table of 0001; this one has the shape the snapshot API stores.
--
-- A delete (soft or hard) removes the stream's snapshot, in its transaction: a trigger on the streams row, so the
-- lifecycle functions stay as they are. save_snapshot takes the stream's advisory lock, as the lifecycle functions
-- do, so a save and a delete of one stream are ordered: a snapshot saved before a delete is removed by it, and a save
-- after a hard delete finds the tombstone. Truncation and retention leave the snapshot alone.

CREATE TABLE __schema__.snapshots (
  stream_id text PRIMARY KEY,
  version bigint NOT NULL,
  schema_version integer NOT NULL,
  state json NOT NULL,
  saved_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION __schema__.forget_snapshot() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  DELETE FROM __schema__.snapshots sn WHERE sn.stream_id = NEW.stream_id;
  RETURN NULL;
END
$fn$;

CREATE TRIGGER streams_forget_snapshot
  AFTER INSERT OR UPDATE OF deleted ON __schema__.streams
  FOR EACH ROW WHEN (NEW.deleted <> 0)
  EXECUTE FUNCTION __schema__.forget_snapshot();

-- o_status: 'saved', or 'deleted' for a tombstoned stream (nothing written).
CREATE FUNCTION __schema__.save_snapshot(
  p_stream_id text, p_version bigint, p_schema_version integer, p_state text, OUT o_status text)
LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM pg_advisory_xact_lock(__lock_key__, hashtext(p_stream_id));
  IF EXISTS (SELECT 1 FROM __schema__.streams st WHERE st.stream_id = p_stream_id AND st.deleted = 2) THEN
    o_status := 'deleted';
    RETURN;
  END IF;
  INSERT INTO __schema__.snapshots AS sn (stream_id, version, schema_version, state)
    VALUES (p_stream_id, p_version, p_schema_version, p_state::json)
    ON CONFLICT (stream_id) DO UPDATE
      SET version = excluded.version, schema_version = excluded.schema_version, state = excluded.state,
          saved_at = now();
  o_status := 'saved';
END
$fn$;
