-- Extended statistics on a large table: created and dropped under SHARE UPDATE EXCLUSIVE, reads and writes go on.
-- facts: public.orders rows=40000000 bytes=6000000000
-- before
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, region text, status text);
CREATE STATISTICS orders_status_region (dependencies) ON status, region FROM orders;
-- data
INSERT INTO orders SELECT g, g % 100, 'r' || (g % 5), 'open' FROM generate_series(1, 1000) g;
-- after
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, region text, status text);
CREATE STATISTICS orders_customer_region (ndistinct, mcv) ON customer_id, region FROM orders;
ALTER STATISTICS orders_customer_region SET STATISTICS 1000;
-- old queries
SELECT count(*) FROM orders WHERE status = 'open' AND region = 'r1';
-- new queries
SELECT count(*) FROM orders WHERE customer_id = 7 AND region = 'r2';
