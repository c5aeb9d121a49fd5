-- Widening varchar and numeric precision needs no rewrite: catalog only.
-- facts: public.products rows=30000000 bytes=4000000000
-- before
CREATE TABLE products (id bigint PRIMARY KEY, sku varchar(16), price numeric(8,2), title varchar(100));
-- data
INSERT INTO products SELECT g, 'sku' || g, g, 't' FROM generate_series(1, 500) g;
-- after
CREATE TABLE products (id bigint PRIMARY KEY, sku varchar(64), price numeric(12,2), title text);
-- old queries
INSERT INTO products VALUES (1000000, 'short', 9.99, 'x');
