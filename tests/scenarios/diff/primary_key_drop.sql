-- A primary key is dropped; the column keeps NOT NULL only if the desired schema says so.
-- before
CREATE TABLE t (id int PRIMARY KEY, name text);
-- after
CREATE TABLE t (id int NOT NULL, name text);
