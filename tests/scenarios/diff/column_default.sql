-- Defaults are set, changed and dropped.
-- before
CREATE TABLE t (a int DEFAULT 1, b int DEFAULT 2, c int);
-- after
CREATE TABLE t (a int DEFAULT 10, b int, c int DEFAULT 3);
