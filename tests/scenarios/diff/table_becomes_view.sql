-- A table is replaced by a view of the same name: the table is dropped before the view is created.
-- before
CREATE TABLE totals (id int, total numeric);
CREATE TABLE orders (id int, amount numeric);
-- after
CREATE TABLE orders (id int, amount numeric);
CREATE VIEW totals AS SELECT id, sum(amount) AS total FROM orders GROUP BY id;
