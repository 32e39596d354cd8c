
CREATE TABLE __schema__.streams (
  stream_id text PRIMARY KEY,
  stream_type text NOT NULL,
  version bigint NOT NULL,
  last_position bigint NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
-- event_data and metadata are json, not jsonb: json keeps the exact text, and jsonb rejects "\u0000".
CREATE TABLE __schema__.events (
  global_position bigint PRIMARY KEY,
  stream_id text NOT NULL,
  version bigint NOT NULL,
  id uuid NOT NULL,
  stream_type text NOT NULL,
  event_type text NOT NULL,
  event_data json NOT NULL,
  metadata json NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT events_stream_version_key UNIQUE (stream_id, version)
);
-- Idempotency lookups of an event id over the whole stream. Not unique: rule 2 allows an id again.
CREATE INDEX events_stream_id_idx ON __schema__.events (stream_id, id);
CREATE INDEX events_type_position_idx ON __schema__.events (event_type, global_position);
CREATE INDEX events_created_at_idx ON __schema__.events (created_at);
CREATE TABLE __schema__.snapshots (
  stream_id text PRIMARY KEY,
  snapshot_type text NOT NULL,
  version bigint NOT NULL,
  data json NOT NULL,
  metadata json NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE __schema__.subscription_checkpoints (
  subscription_id text PRIMARY KEY,
  position bigint NOT NULL,
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
  v_first bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(__lock_key__, hashtext(p_stream_id));
  SELECT s.version, s.last_position INTO v_current, v_last_position
    FROM __schema__.streams s WHERE s.stream_id = p_stream_id;
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

  v_base := pg_current_xact_id()::text::bigint << 20;
  -- Normally no row has this transaction's id yet; continue after them if the caller ran two appends in one.
  SELECT coalesce(max(e.global_position) + 1, v_base) INTO v_first FROM __schema__.events e
    WHERE e.global_position >= v_base AND e.global_position < v_base + 1048576;
  IF v_first - v_base + v_n > 1048576 THEN
    RAISE EXCEPTION 'too many events in one transaction' USING ERRCODE = '54000';
  END IF;
  IF v_first <= v_last_position THEN
    RAISE EXCEPTION 'positions would not follow versions in stream; retry' USING ERRCODE = '40001';
  END IF;

  INSERT INTO __schema__.events
      (global_position, stream_id, version, id, stream_type, event_type, event_data, metadata)
    SELECT v_first + u.i - 1, p_stream_id, v_current + u.i, u.id, split_part(p_stream_id, '-', 1),
           u.t, u.d::json, u.m::json
    FROM unnest(p_ids, p_types, p_data, p_metadata) WITH ORDINALITY AS u(id, t, d, m, i);
  o_status := 'written';
  o_version := v_current + v_n;
  o_position := v_first + v_n - 1;
  INSERT INTO __schema__.streams AS st (stream_id, stream_type, version, last_position)
    VALUES (p_stream_id, split_part(p_stream_id, '-', 1), o_version, o_position)
    ON CONFLICT (stream_id) DO UPDATE
      SET version = excluded.version, last_position = excluded.last_position, updated_at = now();
END
$fn$;
