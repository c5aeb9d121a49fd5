-- A view over a new column: the column comes first.
-- before
CREATE TABLE orders (id int, total numeric);
-- after
CREATE TABLE orders (id int, total numeric, status text);
CREATE VIEW open_orders AS SELECT id, total FROM orders WHERE status = 'open';
