-- A foreign key is added NOT VALID in expand and validated in switch.
-- facts: public.orders rows=8000000 bytes=900000000; public.customers rows=200000
-- before
CREATE TABLE customers (id bigint PRIMARY KEY);
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint);
-- data
INSERT INTO customers SELECT g FROM generate_series(1, 100) g;
INSERT INTO orders SELECT g, 1 + g % 100 FROM generate_series(1, 1000) g;
-- after
CREATE TABLE customers (id bigint PRIMARY KEY);
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint REFERENCES customers (id));
-- old queries
INSERT INTO orders VALUES (100000, 5);
-- new queries
INSERT INTO orders VALUES (100000, 5);
