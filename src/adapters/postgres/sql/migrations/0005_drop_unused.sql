-- Drops what nothing reads: the events_created_at_idx index (every insert paid for it), the stream_type columns
-- of events and streams, and the snapshots and subscription_checkpoints tables (the APIs that need such tables
-- create them, in the shape they need, through their own migrations). The append functions are redefined first,
-- without stream_type, and otherwise unchanged.
--
-- The functions. Each returns o_status 'written', 'duplicate', 'empty' or 'conflict' (with o_reason), the
-- stream's resulting version (its current version on a conflict) and the last position. p_expected is -1 for
-- 'any', -2 for 'stream_exists', otherwise the exact version (0: no stream).
--
-- - append_events(...): one append in its own transaction, one round trip.
-- - append_events_locked(...): one member of a batch; the caller holds the stream's lock. p_offset is the ordinal
--   of the append's first event within the transaction (the events of the members before it).
-- - append_events_batch(...): several appends in one transaction (group commit). Their events are concatenated
--   in p_ids...p_metadata; p_counts says how many belong to each append, p_members which append (from 1) each
--   event belongs to. Each append keeps its own outcome: a conflict or a retry of one writes nothing of it and
--   does not stop the others. Returns one row per append, o_index counting from 1, in no set order.
--
-- Positions are (pg_current_xact_id() << 20) + ordinal (20 = ORDINAL_BITS in positions.ts): the transaction id,
-- then the event's ordinal within its transaction, at most 1,048,576 events per transaction. Every per-stream
-- advisory lock (in this schema's lock class) is taken before the transaction writes anything, so its
-- transaction id is assigned after the previous append to each of its streams committed: positions follow
-- versions within a stream. streams.last_position < base guards that (40001 if it ever did not hold). A batch
-- takes its locks in one sorted order, so two batches never deadlock.
--
-- The single append's common case is two statements: an UPDATE of the stream row that checks the expected
-- version and the first id, then the INSERT of the events. The general path handles new streams, conflicts,
-- retries and empty appends.

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

  SELECT st.version, st.last_position INTO v_current, v_last_position
    FROM __schema__.streams st WHERE st.stream_id = p_stream_id;
  IF NOT FOUND THEN
    v_current := 0;
    v_last_position := 0;
  END IF;
  o_version := v_current;

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

  -- A write the fast path did not take: a new stream, or (never expected) positions behind the stream's last.
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
  INSERT INTO __schema__.streams (stream_id, version, last_position)
    VALUES (p_stream_id, o_version, o_position);
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
BEGIN
  IF v_n > 0 THEN
    -- Fast path: move the stream row on if it is at the expected version and (for 'any' and 'stream_exists')
    -- the first id is not already in the stream, then insert the events after it.
    UPDATE __schema__.streams st
       SET version = st.version + v_n,
           last_position = ((pg_current_xact_id()::text::bigint << 20) + p_offset) + v_n - 1,
           updated_at = now()
     WHERE st.stream_id = p_stream_id
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

  SELECT st.version, st.last_position INTO v_current, v_last_position
    FROM __schema__.streams st WHERE st.stream_id = p_stream_id;
  IF NOT FOUND THEN
    v_current := 0;
    v_last_position := 0;
  END IF;
  o_version := v_current;

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

  -- A write the fast path did not take: a new stream, or (never expected) positions behind the stream's last.
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
  INSERT INTO __schema__.streams (stream_id, version, last_position)
    VALUES (p_stream_id, o_version, o_position);
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

DROP INDEX __schema__.events_created_at_idx;
ALTER TABLE __schema__.events DROP COLUMN stream_type;
ALTER TABLE __schema__.streams DROP COLUMN stream_type;
DROP TABLE __schema__.snapshots;
DROP TABLE __schema__.subscription_checkpoints;
