-- not flagged: no DDL yet, or a CREATE TABLE without foreign keys
SELECT 1;
CREATE TABLE users (id bigint);
-- flagged (both codes): the first DDL of the file without the settings
ALTER TABLE users ADD COLUMN email text;
-- not flagged again in the same file
ALTER TABLE users ADD COLUMN name text;
SET lock_timeout = '2s';
SET statement_timeout = '5min';
ALTER TABLE users ADD COLUMN nick text;
