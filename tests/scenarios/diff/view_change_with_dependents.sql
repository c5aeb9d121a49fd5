-- A view changes under another view: both are dropped (dependent first) and created again.
-- before
CREATE TABLE t (a int, b int);
CREATE VIEW v1 AS SELECT a FROM t;
CREATE VIEW v2 AS SELECT a FROM v1;
-- after
CREATE TABLE t (a int, b int);
CREATE VIEW v1 AS SELECT a, b FROM t;
CREATE VIEW v2 AS SELECT a FROM v1;
