-- set_config() sets them like SET: flagged at 3 (statement_timeout 0) and 8 (the local one ended with COMMIT), not at 6 or 10
SELECT set_config('lock_timeout', '2s', false), pg_catalog.set_config('statement_timeout', '0', false);
ALTER TABLE t ADD COLUMN c boolean;
BEGIN;
SELECT set_config('statement_timeout', '30s', true);
ALTER TABLE t ADD COLUMN d boolean;
COMMIT;
ALTER TABLE t ADD COLUMN e boolean;
SELECT set_config('statement_timeout', '5s', false);
ALTER TABLE t ADD COLUMN f boolean;
