SET lock_timeout = '2s';
SET statement_timeout = '5min';
-- flagged
REINDEX TABLE foo;
REINDEX INDEX foo_idx;
REINDEX SCHEMA app;
REINDEX DATABASE app;
REINDEX (CONCURRENTLY false) INDEX foo_idx;
-- not flagged: concurrent, or REINDEX SYSTEM
REINDEX TABLE CONCURRENTLY foo;
REINDEX (CONCURRENTLY) INDEX foo_idx;
REINDEX SYSTEM app;
-- not flagged: table and index created earlier in the history
CREATE TABLE fresh (a int);
CREATE INDEX fresh_a_idx ON fresh (a);
REINDEX TABLE fresh;
REINDEX INDEX fresh_a_idx;
