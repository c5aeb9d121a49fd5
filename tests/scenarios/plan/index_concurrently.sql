-- An index on a large live table is built CONCURRENTLY, outside a transaction.
-- facts: public.orders rows=12000000 bytes=1500000000
-- before
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, placed_at timestamptz);
-- data
INSERT INTO orders SELECT g, g % 100, now() FROM generate_series(1, 2000) g;
-- after
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, placed_at timestamptz);
CREATE INDEX orders_customer_idx ON orders (customer_id, placed_at DESC);
-- old queries
SELECT id FROM orders WHERE customer_id = 3;
-- new queries
SELECT id FROM orders WHERE customer_id = 3 ORDER BY placed_at DESC;
