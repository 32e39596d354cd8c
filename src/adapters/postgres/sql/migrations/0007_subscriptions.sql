-- Subscriptions (docs/subscriptions.md): the checkpoint of each named subscription, and the lease that keeps one
-- instance per name active.
--
-- subscription_checkpoints.position is the last handled event's global_position, or its version for a subscription
-- to one stream. A transactional subscription upserts it in the transaction of the handler's own writes.
-- subscription_leases holds one row per name: the instance that owns it (a random id per running subscription) and
-- when the lease ends unless renewed. An instance takes a row that is free, expired or its own with one conditional
-- upsert; a transactional handler locks its row FOR SHARE, so no other instance takes it over before it commits.
-- Times are the server's clock (clock_timestamp()), so instances on hosts with skewed clocks agree.

CREATE TABLE __schema__.subscription_checkpoints (
  name text PRIMARY KEY,
  position bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE __schema__.subscription_leases (
  name text PRIMARY KEY,
  owner uuid NOT NULL,
  expires_at timestamptz NOT NULL
);
