import { ORDINAL_BITS } from './positions.js';

/**
 * The SQL of `append_events`: one call = one append = one round trip and one transaction. Returns `o_status`
 * `written`, `duplicate`, `empty` or `conflict` (with `o_reason`), the stream's resulting version (its current
 * version on conflict) and the last position. `p_expected` is -1 for 'any', -2 for 'stream_exists', otherwise
 * the exact version (0 = no stream). The rules are the contract's (see `decideAppend`).
 *
 * Ordering: a per-stream advisory lock is taken before the transaction writes anything, so its transaction id
 * (the high bits of every position it writes) is assigned after the previous append to the stream committed.
 * Positions therefore follow versions within a stream; `streams.last_position` guards it (40001 if it ever did
 * not hold). Two appends in one transaction would reuse ordinals and fail on the position key, never interleave.
 *
 * Fast path: a write to an existing stream is two statements, an UPDATE of the stream row that checks the
 * expected version and the first id, then the INSERT of the events. (One data-modifying CTE doing both was
 * measured slower: about 5 µs more per call, from the CTE scans.) The general path handles new streams,
 * conflicts, retries and empty batches. All statements run after the lock, so each sees the previous append's commit.
 */
export function appendFunction(s: string, lockKey: number): string {
  const ordinals = 2 ** ORDINAL_BITS;
  const insertEvents = `
    INSERT INTO ${s}.events
        (global_position, stream_id, version, id, stream_type, event_type, event_data, metadata)
      SELECT v_base + u.i - 1, p_stream_id, v_current + u.i, u.id, split_part(p_stream_id, '-', 1),
             u.t, u.d::json, u.m::json
      FROM unnest(p_ids, p_types, p_data, p_metadata) WITH ORDINALITY AS u(id, t, d, m, i);
    o_status := 'written';
    o_version := v_current + v_n;
    o_position := v_base + v_n - 1;`;
  return `
CREATE OR REPLACE FUNCTION ${s}.append_events(
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
  IF v_n > ${ordinals} THEN
    RAISE EXCEPTION 'too many events in one append' USING ERRCODE = '54000';
  END IF;
  PERFORM pg_advisory_xact_lock(${lockKey}, hashtext(p_stream_id));
  IF v_n > 0 THEN
    -- Fast path: move the stream row on if it is at the expected version and (for 'any' and 'stream_exists')
    -- the first id is not already in the stream, then insert the events after it. Two plain statements cost
    -- less than one data-modifying CTE (no CTE scans, no materialised RETURNING) and do the same work.
    UPDATE ${s}.streams st
       SET version = st.version + v_n,
           last_position = (pg_current_xact_id()::text::bigint << ${ORDINAL_BITS}) + v_n - 1,
           updated_at = now()
     WHERE st.stream_id = p_stream_id
       AND (p_expected < 0 OR st.version = p_expected)
       AND st.last_position < (pg_current_xact_id()::text::bigint << ${ORDINAL_BITS})
       AND (p_expected >= 0 OR NOT EXISTS (
             SELECT 1 FROM ${s}.events e WHERE e.stream_id = p_stream_id AND e.id = p_ids[1]))
    RETURNING st.version - v_n, st.last_position - v_n + 1 INTO v_current, v_base;
    IF FOUND THEN${insertEvents}
      RETURN;
    END IF;
  END IF;

  SELECT st.version, st.last_position INTO v_current, v_last_position
    FROM ${s}.streams st WHERE st.stream_id = p_stream_id;
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
    SELECT e.version INTO v_start FROM ${s}.events e
      WHERE e.stream_id = p_stream_id AND e.id = p_ids[1] ORDER BY e.version DESC LIMIT 1;
    IF v_start IS NULL AND p_expected = -2 AND v_current = 0 THEN
      o_status := 'conflict';
      o_reason := 'the stream does not exist';
      RETURN;
    END IF;
  END IF;

  IF v_start IS NOT NULL THEN
    SELECT count(*) INTO v_matched FROM unnest(p_ids) WITH ORDINALITY AS b(id, i)
      JOIN ${s}.events e ON e.stream_id = p_stream_id AND e.version = v_start + b.i - 1 AND e.id = b.id;
    IF v_matched <> v_n THEN
      o_status := 'conflict';
      o_reason := 'the event ids do not match a previous append';
      RETURN;
    END IF;
    o_status := 'duplicate';
    o_version := v_start + v_n - 1;
    SELECT e.global_position INTO o_position FROM ${s}.events e
      WHERE e.stream_id = p_stream_id AND e.version = o_version;
    RETURN;
  END IF;

  -- A write the fast path did not take: a new stream, or (never expected) positions behind the stream's last.
  v_base := pg_current_xact_id()::text::bigint << ${ORDINAL_BITS};
  IF v_base <= v_last_position THEN
    RAISE EXCEPTION 'positions would not follow versions in the stream; retry' USING ERRCODE = '40001';
  END IF;${insertEvents}
  INSERT INTO ${s}.streams (stream_id, stream_type, version, last_position)
    VALUES (p_stream_id, split_part(p_stream_id, '-', 1), o_version, o_position);
END
$fn$;`;
}
