-- flagged: timestamp / timestamp without time zone / arrays, in CREATE TABLE, ADD COLUMN, ALTER TYPE
CREATE TABLE events (id bigint, created_at timestamp, seen timestamp without time zone[]);
ALTER TABLE users ADD COLUMN deleted_at timestamp(3);
ALTER TABLE users ALTER COLUMN updated_at TYPE timestamp;
-- not flagged: timestamptz in either spelling
CREATE TABLE events2 (id bigint, created_at timestamptz, seen timestamp with time zone);
