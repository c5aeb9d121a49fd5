-- Without --with-privileges, grants are not compared.
-- before
CREATE TABLE t (id int);
GRANT SELECT ON t TO app_reader;
-- after
CREATE TABLE t (id int);
