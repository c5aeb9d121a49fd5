-- A recreated view gets its grants back.
-- options: with-privileges
-- before
CREATE TABLE t (a int, b int);
CREATE VIEW v AS SELECT a FROM t;
GRANT SELECT ON v TO app_reader;
-- after
CREATE TABLE t (a int, b int);
CREATE VIEW v AS SELECT a, b FROM t;
GRANT SELECT ON v TO app_reader;
