-- append_events_batch with plans that stay index nested loops whatever the statistics say.
--
-- PL/pgSQL keeps the plan it made while the tables were small, where a hash join over a sequential scan looks
-- cheaper; that plan stays linear in the tables' size for good. The function now forbids sequential scans, hash
-- joins and merge joins for its own statements, and writes the id probe so that the planner can neither hash it
-- nor turn it into a range over the stream.

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
    INSERT INTO __schema__.events
        (global_position, stream_id, version, id, stream_type, event_type, event_data, metadata)
      SELECT v_xbase + u.k - 1, p_stream_ids[f.i], f.current + u.k - v_offsets[f.i], u.id,
             split_part(p_stream_ids[f.i], '-', 1), u.t, u.d::json, u.m::json
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
