SET lock_timeout = '2s';
SET statement_timeout = '5min';
-- flagged
ALTER TABLE users ADD COLUMN properties json;
ALTER TABLE users ALTER COLUMN settings TYPE json USING settings::json;
CREATE TABLE events (id bigint, payload json);
-- not flagged: jsonb
ALTER TABLE users ADD COLUMN props jsonb;
CREATE TABLE logs (id bigint, payload jsonb);
