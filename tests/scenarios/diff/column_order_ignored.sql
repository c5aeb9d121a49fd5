-- Column order alone is not a difference: nothing to do.
-- before
CREATE TABLE t (a int, b text, c date);
-- after
CREATE TABLE t (c date, a int, b text);
