SET lock_timeout = '2s';
SET statement_timeout = '5min';
-- flagged
CREATE INDEX users_email_idx ON users (email);
CREATE INDEX ON t (a);
-- not flagged
CREATE INDEX CONCURRENTLY users_name_idx ON users (name);
CREATE TABLE fresh (tenant_id integer);
CREATE INDEX fresh_tenant_idx ON fresh (tenant_id);
