SET lock_timeout = '2s';
SET statement_timeout = '5min';
-- flagged
DROP INDEX IF EXISTS users_email_idx;
DROP INDEX idx1, idx2;
-- not flagged: CONCURRENTLY, other objects
DROP INDEX CONCURRENTLY IF EXISTS users_name_idx;
DROP TRIGGER IF EXISTS trg ON foo;
-- not flagged: an index created in this history on a new table
CREATE TABLE fresh (a int);
CREATE INDEX fresh_a_idx ON fresh (a);
DROP INDEX fresh_a_idx;
