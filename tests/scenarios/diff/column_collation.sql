-- A column's collation changes with its type statement.
-- before
CREATE TABLE t (name text);
-- after
CREATE TABLE t (name text COLLATE "C");
