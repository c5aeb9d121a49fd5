-- A column goes and the view that used it goes too, before the column.
-- before
CREATE TABLE t (id int, secret text);
CREATE VIEW exposed AS SELECT id, secret FROM t;
-- after
CREATE TABLE t (id int);
