-- A domain's base type changes: renamed away, created again, columns move over.
-- before
CREATE DOMAIN code AS varchar(5);
CREATE TABLE t (c code);
-- after
CREATE DOMAIN code AS varchar(10);
CREATE TABLE t (c code);
