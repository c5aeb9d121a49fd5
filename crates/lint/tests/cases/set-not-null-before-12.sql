-- lint: pg_version=11
SET lock_timeout = '2s';
SET statement_timeout = '5min';
-- flagged: PostgreSQL 11 scans even with a validated check
ALTER TABLE foo VALIDATE CONSTRAINT foo_bar_not_null;
ALTER TABLE foo ALTER COLUMN bar SET NOT NULL;
