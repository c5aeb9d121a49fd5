-- An index is dropped CONCURRENTLY in the contract phase, with a rollback that rebuilds it.
-- facts: public.orders rows=500000 bytes=60000000
-- before
CREATE TABLE orders (id bigint PRIMARY KEY, status text);
CREATE INDEX orders_status_idx ON orders (status);
-- data
INSERT INTO orders SELECT g, 'new' FROM generate_series(1, 500) g;
-- after
CREATE TABLE orders (id bigint PRIMARY KEY, status text);
-- old queries
SELECT count(*) FROM orders WHERE status = 'new';
