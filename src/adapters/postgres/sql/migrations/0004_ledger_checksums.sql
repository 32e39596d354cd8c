-- The migrations ledger records the SHA-256 of each migration file's text, so that a store refuses to open a
-- schema whose applied migrations differ from the ones it ships. Rows of migrations applied before this column
-- existed get their checksum when the migrating store finishes (see schema.ts).
ALTER TABLE __schema__.schema_migrations ADD COLUMN checksum text;
