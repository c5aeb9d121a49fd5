-- A SQL-standard function body (BEGIN ATOMIC) whose dependencies PostgreSQL tracks.
-- before
CREATE TABLE t (id int, price numeric);
-- after
CREATE TABLE t (id int, price numeric);
CREATE FUNCTION total_price() RETURNS numeric LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT sum(price) FROM t;
END;
