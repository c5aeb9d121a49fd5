-- flagged: no key at all; only a unique key
CREATE TABLE order_events (order_id bigint NOT NULL, kind text NOT NULL, created_at timestamptz NOT NULL);
CREATE TABLE tags (name text NOT NULL UNIQUE);
-- not flagged: a column key, a table key, a key added later in the file, a partition, a temporary table, LIKE
CREATE TABLE notes (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body text);
CREATE TABLE memberships (user_id bigint, group_id bigint, PRIMARY KEY (user_id, group_id));
CREATE TABLE audits (id bigint NOT NULL);
ALTER TABLE audits ADD CONSTRAINT audits_pkey PRIMARY KEY (id);
CREATE TABLE measurements_2026 PARTITION OF measurements FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE TEMPORARY TABLE scratch (n bigint);
CREATE TABLE notes_copy (LIKE notes INCLUDING ALL);
