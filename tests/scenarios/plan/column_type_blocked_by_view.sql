-- A type change whose column a view uses cannot move to a new column: a blocker naming the view.
-- facts: public.orders rows=40000000 bytes=5000000000
-- before
CREATE TABLE orders (id bigint PRIMARY KEY, quantity integer);
CREATE VIEW big_orders AS SELECT id FROM orders WHERE quantity > 100;
-- after
CREATE TABLE orders (id bigint PRIMARY KEY, quantity bigint);
CREATE VIEW big_orders AS SELECT id FROM orders WHERE quantity > 100;
