-- The stream lifecycle (docs/lifecycle.md): soft delete, tombstone, truncation, retention and stream metadata.
--
-- streams.deleted is 0 for a live stream, 1 soft-deleted (reads as not existing, recreated by the next append at
-- its version + 1), 2 tombstoned (STREAM_DELETED for good). streams.truncate_before only grows: the events below it
-- are deleted rows. stream_metadata holds the user's metadata (retention and custom), one row per stream whose
-- metadata was written. Deletes and truncations delete their rows in the transaction that checks the expected
-- version, under the stream's advisory lock, so a crash leaves all of it or none of it; retention rows are deleted
-- by enforce_retention in small batches without the stream's lock (an append never touches an old row).
--
-- The append functions are redefined with the lifecycle rules and are otherwise unchanged: their fast paths take
-- live streams only; the general path answers 'deleted' for a tombstone, applies the soft-deleted stream's
-- expected versions, and recreates a soft-deleted stream's row.

ALTER TABLE __schema__.streams ADD COLUMN deleted smallint NOT NULL DEFAULT 0;
ALTER TABLE __schema__.streams ADD COLUMN truncate_before bigint NOT NULL DEFAULT 1;
CREATE TABLE __schema__.stream_metadata (
  stream_id text PRIMARY KEY,
  metadata_version bigint NOT NULL,
  max_count bigint,
  max_age bigint,
  custom json,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE OR REPLACE FUNCTION __schema__.append_events(
  p_stream_id text, p_expected bigint, p_ids uuid[], p_types text[], p_data text[], p_metadata text[],
  OUT o_status text, OUT o_version bigint, OUT o_position bigint, OUT o_reason text)
LANGUAGE plpgsql AS $fn$
DECLARE
  v_n integer := coalesce(array_length(p_ids, 1), 0);
  v_current bigint;
  v_last_position bigint;
  v_start bigint;
  v_matched integer;
  v_base bigint;
  v_deleted smallint;
BEGIN
  IF v_n > 1048576 THEN
    RAISE EXCEPTION 'too many events in one append' USING ERRCODE = '54000';
  END IF;
  PERFORM pg_advisory_xact_lock(__lock_key__, hashtext(p_stream_id));
  IF v_n > 0 THEN
    -- Fast path: move the stream row on if it is at the expected version and (for 'any' and 'stream_exists')
    -- the first id is not already in the stream, then insert the events after it.
    UPDATE __schema__.streams st
       SET version = st.version + v_n,
           last_position = (pg_current_xact_id()::text::bigint << 20) + v_n - 1,
           updated_at = now()
     WHERE st.stream_id = p_stream_id
       AND st.deleted = 0
       AND (p_expected < 0 OR st.version = p_expected)
       AND st.last_position < (pg_current_xact_id()::text::bigint << 20)
       AND (p_expected >= 0 OR NOT EXISTS (
             SELECT 1 FROM __schema__.events e WHERE e.stream_id = p_stream_id AND e.id = p_ids[1]))
    RETURNING st.version - v_n, st.last_position - v_n + 1 INTO v_current, v_base;
    IF FOUND THEN
      INSERT INTO __schema__.events (global_position, stream_id, version, id, event_type, event_data, metadata)
        SELECT v_base + u.i - 1, p_stream_id, v_current + u.i, u.id, u.t, u.d::json, u.m::json
          FROM unnest(p_ids, p_types, p_data, p_metadata) WITH ORDINALITY AS u(id, t, d, m, i);
      o_status := 'written';
      o_version := v_current + v_n;
      o_position := v_base + v_n - 1;
      RETURN;
    END IF;
  END IF;

  SELECT st.version, st.last_position, st.deleted INTO v_current, v_last_position, v_deleted
    FROM __schema__.streams st WHERE st.stream_id = p_stream_id;
  IF NOT FOUND THEN
    v_current := 0;
    v_last_position := 0;
    v_deleted := 0;
  END IF;
  o_version := v_current;
  IF v_deleted = 2 THEN
    o_status := 'deleted';
    RETURN;
  ELSIF v_deleted = 1 THEN
    -- Soft-deleted: the stream reads as not existing, and 'no_stream' recreates it where its version stopped.
    IF p_expected = -2 THEN
      o_status := 'conflict';
      o_reason := 'the stream was deleted';
      RETURN;
    ELSIF p_expected = 0 THEN
      p_expected := v_current;
    END IF;
  END IF;

  IF v_n = 0 THEN
    IF p_expected = -1 OR (p_expected = -2 AND v_current > 0) OR p_expected = v_current THEN
      o_status := 'empty';
    ELSE
      o_status := 'conflict';
      o_reason := CASE WHEN p_expected = -2 THEN 'the stream does not exist' ELSE 'version mismatch' END;
    END IF;
    RETURN;
  END IF;

  IF p_expected >= 0 THEN
    IF p_expected > v_current THEN
      o_status := 'conflict';
      o_reason := 'the stream is behind the expected version';
      RETURN;
    ELSIF p_expected < v_current THEN
      v_start := p_expected + 1;
    END IF;
  ELSE
    SELECT e.version INTO v_start FROM __schema__.events e
      WHERE e.stream_id = p_stream_id AND e.id = p_ids[1] ORDER BY e.version DESC LIMIT 1;
    IF v_start IS NULL AND p_expected = -2 AND v_current = 0 THEN
      o_status := 'conflict';
      o_reason := 'the stream does not exist';
      RETURN;
    END IF;
  END IF;

  IF v_start IS NOT NULL THEN
    SELECT count(*) INTO v_matched FROM unnest(p_ids) WITH ORDINALITY AS b(id, i)
      JOIN __schema__.events e ON e.stream_id = p_stream_id AND e.version = v_start + b.i - 1 AND e.id = b.id;
    IF v_matched <> v_n THEN
      o_status := 'conflict';
      o_reason := 'the event ids do not match a previous append';
      RETURN;
    END IF;
    o_status := 'duplicate';
    o_version := v_start + v_n - 1;
    SELECT e.global_position INTO o_position FROM __schema__.events e
      WHERE e.stream_id = p_stream_id AND e.version = o_version;
    RETURN;
  END IF;

  -- A write the fast path did not take: a new or soft-deleted stream, or (never expected) positions behind the
  -- stream's last.
  v_base := (pg_current_xact_id()::text::bigint << 20);
  IF v_base <= v_last_position THEN
    RAISE EXCEPTION 'positions would not follow versions in the stream; retry' USING ERRCODE = '40001';
  END IF;
  INSERT INTO __schema__.events (global_position, stream_id, version, id, event_type, event_data, metadata)
    SELECT v_base + u.i - 1, p_stream_id, v_current + u.i, u.id, u.t, u.d::json, u.m::json
      FROM unnest(p_ids, p_types, p_data, p_metadata) WITH ORDINALITY AS u(id, t, d, m, i);
  o_status := 'written';
  o_version := v_current + v_n;
  o_position := v_base + v_n - 1;
  INSERT INTO __schema__.streams AS st (stream_id, version, last_position)
    VALUES (p_stream_id, o_version, o_position)
    ON CONFLICT (stream_id) DO UPDATE
      SET version = excluded.version, last_position = excluded.last_position, deleted = 0, updated_at = now();
END
$fn$;

CREATE OR REPLACE FUNCTION __schema__.append_events_locked(
  p_stream_id text, p_expected bigint, p_ids uuid[], p_types text[], p_data text[], p_metadata text[],
  p_offset bigint, OUT o_status text, OUT o_version bigint, OUT o_position bigint, OUT o_reason text)
LANGUAGE plpgsql AS $fn$
DECLARE
  v_n integer := coalesce(array_length(p_ids, 1), 0);
  v_current bigint;
  v_last_position bigint;
  v_start bigint;
  v_matched integer;
  v_base bigint;
  v_deleted smallint;
BEGIN
  IF v_n > 0 THEN
    -- Fast path: move the stream row on if it is at the expected version and (for 'any' and 'stream_exists')
    -- the first id is not already in the stream, then insert the events after it.
    UPDATE __schema__.streams st
       SET version = st.version + v_n,
           last_position = ((pg_current_xact_id()::text::bigint << 20) + p_offset) + v_n - 1,
           updated_at = now()
     WHERE st.stream_id = p_stream_id
       AND st.deleted = 0
       AND (p_expected < 0 OR st.version = p_expected)
       AND st.last_position < ((pg_current_xact_id()::text::bigint << 20) + p_offset)
       AND (p_expected >= 0 OR NOT EXISTS (
             SELECT 1 FROM __schema__.events e WHERE e.stream_id = p_stream_id AND e.id = p_ids[1]))
    RETURNING st.version - v_n, st.last_position - v_n + 1 INTO v_current, v_base;
    IF FOUND THEN
      INSERT INTO __schema__.events (global_position, stream_id, version, id, event_type, event_data, metadata)
        SELECT v_base + u.i - 1, p_stream_id, v_current + u.i, u.id, u.t, u.d::json, u.m::json
          FROM unnest(p_ids, p_types, p_data, p_metadata) WITH ORDINALITY AS u(id, t, d, m, i);
      o_status := 'written';
      o_version := v_current + v_n;
      o_position := v_base + v_n - 1;
      RETURN;
    END IF;
  END IF;

  SELECT st.version, st.last_position, st.deleted INTO v_current, v_last_position, v_deleted
    FROM __schema__.streams st WHERE st.stream_id = p_stream_id;
  IF NOT FOUND THEN
    v_current := 0;
    v_last_position := 0;
    v_deleted := 0;
  END IF;
  o_version := v_current;
  IF v_deleted = 2 THEN
    o_status := 'deleted';
    RETURN;
  ELSIF v_deleted = 1 THEN
    -- Soft-deleted: the stream reads as not existing, and 'no_stream' recreates it where its version stopped.
    IF p_expected = -2 THEN
      o_status := 'conflict';
      o_reason := 'the stream was deleted';
      RETURN;
    ELSIF p_expected = 0 THEN
      p_expected := v_current;
    END IF;
  END IF;

  IF v_n = 0 THEN
    IF p_expected = -1 OR (p_expected = -2 AND v_current > 0) OR p_expected = v_current THEN
      o_status := 'empty';
    ELSE
      o_status := 'conflict';
      o_reason := CASE WHEN p_expected = -2 THEN 'the stream does not exist' ELSE 'version mismatch' END;
    END IF;
    RETURN;
  END IF;

  IF p_expected >= 0 THEN
    IF p_expected > v_current THEN
      o_status := 'conflict';
      o_reason := 'the stream is behind the expected version';
      RETURN;
    ELSIF p_expected < v_current THEN
      v_start := p_expected + 1;
    END IF;
  ELSE
    SELECT e.version INTO v_start FROM __schema__.events e
      WHERE e.stream_id = p_stream_id AND e.id = p_ids[1] ORDER BY e.version DESC LIMIT 1;
    IF v_start IS NULL AND p_expected = -2 AND v_current = 0 THEN
      o_status := 'conflict';
      o_reason := 'the stream does not exist';
      RETURN;
    END IF;
  END IF;

  IF v_start IS NOT NULL THEN
    SELECT count(*) INTO v_matched FROM unnest(p_ids) WITH ORDINALITY AS b(id, i)
      JOIN __schema__.events e ON e.stream_id = p_stream_id AND e.version = v_start + b.i - 1 AND e.id = b.id;
    IF v_matched <> v_n THEN
      o_status := 'conflict';
      o_reason := 'the event ids do not match a previous append';
      RETURN;
    END IF;
    o_status := 'duplicate';
    o_version := v_start + v_n - 1;
    SELECT e.global_position INTO o_position FROM __schema__.events e
      WHERE e.stream_id = p_stream_id AND e.version = o_version;
    RETURN;
  END IF;

  -- A write the fast path did not take: a new or soft-deleted stream, or (never expected) positions behind the
  -- stream's last.
  v_base := ((pg_current_xact_id()::text::bigint << 20) + p_offset);
  IF v_base <= v_last_position THEN
    RAISE EXCEPTION 'positions would not follow versions in the stream; retry' USING ERRCODE = '40001';
  END IF;
  INSERT INTO __schema__.events (global_position, stream_id, version, id, event_type, event_data, metadata)
    SELECT v_base + u.i - 1, p_stream_id, v_current + u.i, u.id, u.t, u.d::json, u.m::json
      FROM unnest(p_ids, p_types, p_data, p_metadata) WITH ORDINALITY AS u(id, t, d, m, i);
  o_status := 'written';
  o_version := v_current + v_n;
  o_position := v_base + v_n - 1;
  INSERT INTO __schema__.streams AS st (stream_id, version, last_position)
    VALUES (p_stream_id, o_version, o_position)
    ON CONFLICT (stream_id) DO UPDATE
      SET version = excluded.version, last_position = excluded.last_position, deleted = 0, updated_at = now();
END
$fn$;

CREATE OR REPLACE FUNCTION __schema__.append_events_batch(
  p_stream_ids text[], p_expected bigint[], p_counts integer[], p_members integer[],
  p_ids uuid[], p_types text[], p_data text[], p_metadata text[])
RETURNS TABLE (o_index integer, o_status text, o_version bigint, o_position bigint, o_reason text)
LANGUAGE plpgsql
-- Its statements join the group's members to streams and events: they must be index nested loops whatever the
-- statistics say (PL/pgSQL keeps the plan made while the tables were small, where a hash join over a
-- sequential scan looks cheaper, and stays linear in the tables' size for good).
SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off
AS $fn$
DECLARE
  v_members integer := coalesce(array_length(p_stream_ids, 1), 0);
  v_events integer := coalesce(array_length(p_ids, 1), 0);
  v_offsets integer[] := '{}';
  v_total integer := 0;
  v_hash integer;
  v_xbase bigint;
  v_fast integer[];
  v_fast_current bigint[];
BEGIN
  IF v_members <> coalesce(array_length(p_expected, 1), 0)
     OR v_members <> coalesce(array_length(p_counts, 1), 0)
     OR v_events <> coalesce(array_length(p_members, 1), 0) THEN
    RAISE EXCEPTION 'append_events_batch: the arrays do not agree' USING ERRCODE = '22023';
  END IF;
  FOR i IN 1 .. v_members LOOP
    v_offsets[i] := v_total;
    v_total := v_total + p_counts[i];
  END LOOP;
  IF v_total <> v_events THEN
    RAISE EXCEPTION 'append_events_batch: the counts do not add up' USING ERRCODE = '22023';
  END IF;
  IF v_events > 1048576 THEN
    RAISE EXCEPTION 'too many events in one transaction' USING ERRCODE = '54000';
  END IF;
  -- Every lock first, in one order, before anything is written (and so before the transaction has an id).
  FOR v_hash IN SELECT DISTINCT hashtext(x) FROM unnest(p_stream_ids) AS x ORDER BY 1 LOOP
    PERFORM pg_advisory_xact_lock(__lock_key__, v_hash);
  END LOOP;
  v_xbase := pg_current_xact_id()::text::bigint << 20;

  -- Set-based fast path, the batch's common case: every member with events whose stream it alone writes in this
  -- batch, and whose stream row is at the expected version (for 'any' and 'stream_exists': whose first id is not
  -- in the stream yet), moves its stream row on in one UPDATE; their events then go in one INSERT.
  WITH m AS (
    SELECT t.s, t.e, t.c, t.i::integer AS i, v_offsets[t.i::integer] AS off
      FROM (SELECT s, e, c, i, count(*) OVER (PARTITION BY s) AS writers
              FROM unnest(p_stream_ids, p_expected, p_counts) WITH ORDINALITY AS x(s, e, c, i)) t
     WHERE t.c > 0 AND t.writers = 1),
  moved AS (
    UPDATE __schema__.streams st
       SET version = st.version + m.c,
           last_position = v_xbase + m.off + m.c - 1,
           updated_at = now()
      FROM m
     WHERE st.stream_id = m.s
       AND st.deleted = 0
       AND (m.e < 0 OR st.version = m.e)
       AND st.last_position < v_xbase + m.off
       -- The id probe: one lookup in the (stream_id, id) index per member. `(ev.version + 0) <= st.version` holds
       -- for every event of the stream. It is there for the planner: a correlation that is not an equality keeps it
       -- from turning the probe into a hashed subplan (a scan of the whole events table on every group), and
       -- the `+ 0` keeps it from using the condition as a range on (stream_id, version), which reads the stream.
       AND (m.e >= 0 OR NOT EXISTS (
             SELECT 1 FROM __schema__.events ev
              WHERE ev.stream_id = m.s AND ev.id = p_ids[m.off + 1] AND (ev.version + 0) <= st.version))
    RETURNING m.i, st.version - m.c AS current)
  SELECT array_agg(moved.i), array_agg(moved.current) INTO v_fast, v_fast_current FROM moved;

  IF v_fast IS NOT NULL THEN
    INSERT INTO __schema__.events (global_position, stream_id, version, id, event_type, event_data, metadata)
      SELECT v_xbase + u.k - 1, p_stream_ids[f.i], f.current + u.k - v_offsets[f.i], u.id, u.t, u.d::json,
             u.m::json
        FROM unnest(v_fast, v_fast_current) AS f(i, current)
        JOIN unnest(p_ids, p_types, p_data, p_metadata, p_members) WITH ORDINALITY AS u(id, t, d, m, i, k)
          ON u.i = f.i;
    RETURN QUERY
      SELECT f.i, 'written'::text, f.current + p_counts[f.i], v_xbase + v_offsets[f.i] + p_counts[f.i] - 1,
             NULL::text
        FROM unnest(v_fast, v_fast_current) AS f(i, current);
  END IF;

  -- The rest one by one, in batch order: new streams, conflicts, retries, empty appends, and a stream that
  -- several members write (in order, each after the one before it).
  FOR i IN 1 .. v_members LOOP
    CONTINUE WHEN i = ANY (v_fast);
    SELECT i, a.o_status, a.o_version, a.o_position, a.o_reason
      INTO o_index, o_status, o_version, o_position, o_reason
      FROM __schema__.append_events_locked(p_stream_ids[i], p_expected[i],
             p_ids[v_offsets[i] + 1 : v_offsets[i] + p_counts[i]],
             p_types[v_offsets[i] + 1 : v_offsets[i] + p_counts[i]],
             p_data[v_offsets[i] + 1 : v_offsets[i] + p_counts[i]],
             p_metadata[v_offsets[i] + 1 : v_offsets[i] + p_counts[i]], v_offsets[i]) AS a;
    RETURN NEXT;
  END LOOP;
END
$fn$;

-- Whether p_expected (-1 any, -2 stream_exists, else exact) holds for a stream at p_version, soft-deleted or not:
-- the SQL twin of expectedVersionHolds in src/contract/idempotency.ts.
CREATE OR REPLACE FUNCTION __schema__.expected_version_holds(p_expected bigint, p_version bigint, p_deleted smallint)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $fn$
  SELECT p_expected = -1
      OR (p_expected = -2 AND p_version > 0 AND p_deleted = 0)
      OR p_expected = p_version
      OR (p_expected = 0 AND NOT (p_version > 0 AND p_deleted = 0))
$fn$;

-- Soft or hard delete. o_status: 'done', 'conflict', 'deleted' (a soft delete of a tombstone). o_version: the
-- stream's version. The events are deleted before the stream row is updated, in one transaction.
CREATE OR REPLACE FUNCTION __schema__.delete_stream(
  p_stream_id text, p_expected bigint, p_hard boolean, OUT o_status text, OUT o_version bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
  v_deleted smallint;
BEGIN
  PERFORM pg_advisory_xact_lock(__lock_key__, hashtext(p_stream_id));
  SELECT st.version, st.deleted INTO o_version, v_deleted FROM __schema__.streams st WHERE st.stream_id = p_stream_id;
  IF NOT FOUND THEN
    o_version := 0;
    v_deleted := 0;
  END IF;
  IF v_deleted = 2 THEN
    o_status := CASE WHEN p_hard THEN 'done' ELSE 'deleted' END;
    RETURN;
  END IF;
  IF NOT __schema__.expected_version_holds(p_expected, o_version, v_deleted) THEN
    o_status := 'conflict';
    RETURN;
  END IF;
  DELETE FROM __schema__.events e WHERE e.stream_id = p_stream_id;
  IF p_hard THEN
    DELETE FROM __schema__.stream_metadata m WHERE m.stream_id = p_stream_id;
    INSERT INTO __schema__.streams AS st (stream_id, version, last_position, deleted, truncate_before)
      VALUES (p_stream_id, o_version, 0, 2, o_version + 1)
      ON CONFLICT (stream_id) DO UPDATE SET deleted = 2, truncate_before = st.version + 1, updated_at = now();
  ELSIF o_version > 0 THEN
    UPDATE __schema__.streams st SET deleted = 1, truncate_before = st.version + 1, updated_at = now()
      WHERE st.stream_id = p_stream_id;
  END IF;
  o_status := 'done';
END
$fn$;

-- Deletes the events below p_before (a no-op below the current truncation point). o_status: 'done', 'conflict',
-- 'deleted', 'invalid' (past version + 1). Called by truncateStream and by a metadata write with truncateBefore.
CREATE OR REPLACE FUNCTION __schema__.truncate_stream(
  p_stream_id text, p_before bigint, p_expected bigint, OUT o_status text, OUT o_version bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
  v_deleted smallint;
  v_truncate_before bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(__lock_key__, hashtext(p_stream_id));
  SELECT st.version, st.deleted, st.truncate_before INTO o_version, v_deleted, v_truncate_before
    FROM __schema__.streams st WHERE st.stream_id = p_stream_id;
  IF NOT FOUND THEN
    o_version := 0;
    v_deleted := 0;
    v_truncate_before := 1;
  END IF;
  IF v_deleted = 2 THEN
    o_status := 'deleted';
  ELSIF NOT __schema__.expected_version_holds(p_expected, o_version, v_deleted) THEN
    o_status := 'conflict';
  ELSIF p_before > o_version + 1 THEN
    o_status := 'invalid';
  ELSE
    IF p_before > v_truncate_before THEN
      DELETE FROM __schema__.events e WHERE e.stream_id = p_stream_id AND e.version < p_before;
      UPDATE __schema__.streams st SET truncate_before = p_before, updated_at = now()
        WHERE st.stream_id = p_stream_id;
    END IF;
    o_status := 'done';
  END IF;
END
$fn$;

-- Replaces the stream's metadata at an expected metadata version (-1: any). o_status: 'done', 'conflict',
-- 'deleted', 'invalid' (truncateBefore past version + 1), 'backwards' (truncateBefore below the current one).
CREATE OR REPLACE FUNCTION __schema__.set_stream_metadata(
  p_stream_id text, p_expected bigint, p_max_count bigint, p_max_age bigint, p_truncate_before bigint,
  p_custom text, OUT o_status text, OUT o_metadata_version bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
  v_version bigint;
  v_deleted smallint;
  v_truncate_before bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(__lock_key__, hashtext(p_stream_id));
  SELECT st.version, st.deleted, st.truncate_before INTO v_version, v_deleted, v_truncate_before
    FROM __schema__.streams st WHERE st.stream_id = p_stream_id;
  IF NOT FOUND THEN
    v_version := 0;
    v_deleted := 0;
    v_truncate_before := 1;
  END IF;
  SELECT m.metadata_version INTO o_metadata_version FROM __schema__.stream_metadata m
    WHERE m.stream_id = p_stream_id;
  o_metadata_version := coalesce(o_metadata_version, 0);
  IF v_deleted = 2 THEN
    o_status := 'deleted';
    RETURN;
  ELSIF p_expected >= 0 AND p_expected <> o_metadata_version THEN
    o_status := 'conflict';
    RETURN;
  ELSIF p_truncate_before IS NOT NULL AND p_truncate_before > v_version + 1 THEN
    o_status := 'invalid';
    RETURN;
  ELSIF p_truncate_before IS NOT NULL AND p_truncate_before < v_truncate_before THEN
    o_status := 'backwards';
    RETURN;
  END IF;
  IF p_truncate_before IS NOT NULL AND p_truncate_before > v_truncate_before THEN
    DELETE FROM __schema__.events e WHERE e.stream_id = p_stream_id AND e.version < p_truncate_before;
    UPDATE __schema__.streams st SET truncate_before = p_truncate_before, updated_at = now()
      WHERE st.stream_id = p_stream_id;
  END IF;
  o_metadata_version := o_metadata_version + 1;
  INSERT INTO __schema__.stream_metadata AS m (stream_id, metadata_version, max_count, max_age, custom)
    VALUES (p_stream_id, o_metadata_version, p_max_count, p_max_age, p_custom::json)
    ON CONFLICT (stream_id) DO UPDATE
      SET metadata_version = excluded.metadata_version, max_count = excluded.max_count,
          max_age = excluded.max_age, custom = excluded.custom, updated_at = now();
  o_status := 'done';
END
$fn$;
