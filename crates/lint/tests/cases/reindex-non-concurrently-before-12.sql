-- lint: pg_version=11
SET lock_timeout = '2s';
SET statement_timeout = '5min';
-- warning only: PostgreSQL 11 has no REINDEX CONCURRENTLY
REINDEX TABLE foo;
