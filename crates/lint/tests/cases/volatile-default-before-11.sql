-- lint: pg_version=10
SET lock_timeout = '2s';
SET statement_timeout = '5min';
-- flagged: before PostgreSQL 11 every non-NULL default rewrites
ALTER TABLE users ADD COLUMN status text DEFAULT 'active';
-- not flagged: DEFAULT NULL
ALTER TABLE users ADD COLUMN note text DEFAULT NULL;
