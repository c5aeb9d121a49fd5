-- Comments on an index and a constraint.
-- before
CREATE TABLE t (a int CONSTRAINT t_a_key UNIQUE);
CREATE INDEX t_idx ON t (a);
-- after
CREATE TABLE t (a int CONSTRAINT t_a_key UNIQUE);
CREATE INDEX t_idx ON t (a);
COMMENT ON INDEX t_idx IS 'for lookups by a';
COMMENT ON CONSTRAINT t_a_key ON t IS 'one row per a';
