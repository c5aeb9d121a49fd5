-- flagged: dropping a column of an existing table, with or without IF EXISTS
ALTER TABLE users DROP COLUMN legacy_ref;
ALTER TABLE users DROP COLUMN IF EXISTS other_ref CASCADE;
-- not flagged: a column added earlier in this file holds no data yet
ALTER TABLE users ADD COLUMN tmp_flag boolean;
ALTER TABLE users DROP COLUMN tmp_flag;
-- not flagged: a table created earlier in this history
CREATE TABLE staging (id bigint, note text);
ALTER TABLE staging DROP COLUMN note;
