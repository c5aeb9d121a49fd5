-- Unique constraints are added and dropped, including NULLS NOT DISTINCT and DEFERRABLE.
-- before
CREATE TABLE t (a int, b int, c int, CONSTRAINT t_c_key UNIQUE (c));
-- after
CREATE TABLE t (a int, b int, c int, CONSTRAINT t_a_key UNIQUE NULLS NOT DISTINCT (a), CONSTRAINT t_b_key UNIQUE (b) DEFERRABLE INITIALLY DEFERRED);
