-- A view whose query changes is dropped and created again in expand.
-- facts: public.orders rows=1000000 bytes=100000000
-- before
CREATE TABLE orders (id bigint PRIMARY KEY, total numeric, status text);
CREATE VIEW open_orders AS SELECT id, total FROM orders WHERE status = 'open';
-- after
CREATE TABLE orders (id bigint PRIMARY KEY, total numeric, status text);
CREATE VIEW open_orders AS SELECT id, total, status FROM orders WHERE status IN ('open', 'pending');
-- old queries
SELECT id, total FROM open_orders;
-- new queries
SELECT id, status FROM open_orders;
