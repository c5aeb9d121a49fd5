-- A column used by a view changes type: the view is dropped first and created after.
-- before
CREATE TABLE t (id int, amount int);
CREATE VIEW big AS SELECT id, amount FROM t WHERE amount > 100;
-- after
CREATE TABLE t (id int, amount bigint);
CREATE VIEW big AS SELECT id, amount FROM t WHERE amount > 100;
