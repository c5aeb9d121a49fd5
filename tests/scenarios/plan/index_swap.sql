-- An index whose definition changes is built under a temporary name and swapped in.
-- facts: public.orders rows=3000000 bytes=400000000
-- before
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, total numeric);
CREATE INDEX orders_customer_idx ON orders (customer_id);
-- data
INSERT INTO orders SELECT g, g % 7, g FROM generate_series(1, 1000) g;
-- after
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, total numeric);
CREATE INDEX orders_customer_idx ON orders (customer_id) INCLUDE (total);
-- old queries
SELECT total FROM orders WHERE customer_id = 1;
