-- flagged: a qualified setting name is not the timeout; COMMENT ON is DDL
SET foo.lock_timeout = '1s';
SET foo.statement_timeout = '5s';
COMMENT ON COLUMN t.c IS 'an opaque id';
