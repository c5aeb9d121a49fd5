-- NOT NULL is set and dropped.
-- before
CREATE TABLE t (a int, b int NOT NULL);
-- after
CREATE TABLE t (a int NOT NULL, b int);
