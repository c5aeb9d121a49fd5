-- A grant option is taken away without revoking the privilege itself.
-- options: with-privileges
-- before
CREATE TABLE t (id int);
GRANT SELECT ON t TO app_reader WITH GRANT OPTION;
GRANT DELETE ON t TO PUBLIC;
-- after
CREATE TABLE t (id int);
GRANT SELECT ON t TO app_reader;
