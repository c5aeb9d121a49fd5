-- Indexes are created and dropped.
-- before
CREATE TABLE t (a int, b int);
CREATE INDEX t_b_idx ON t (b);
-- after
CREATE TABLE t (a int, b int);
CREATE INDEX t_a_idx ON t (a);
