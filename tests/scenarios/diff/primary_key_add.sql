-- A primary key is added to an existing table.
-- before
CREATE TABLE t (id int NOT NULL, name text);
-- after
CREATE TABLE t (id int PRIMARY KEY, name text);
