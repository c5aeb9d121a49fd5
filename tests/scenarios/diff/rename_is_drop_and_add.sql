-- The diff matches by name: a renamed column is a drop and an add, flagged as data_loss.
-- before
CREATE TABLE t (id int, fullname text);
-- after
CREATE TABLE t (id int, full_name text);
