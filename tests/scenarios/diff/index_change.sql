-- An index whose definition changes is dropped and created again under the same name.
-- before
CREATE TABLE t (a int, b int);
CREATE INDEX t_idx ON t (a);
-- after
CREATE TABLE t (a int, b int);
CREATE INDEX t_idx ON t (a, b);
