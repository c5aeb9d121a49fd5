-- With --allow-downtime the rewrite is planned, with its hazards and an estimate.
-- facts: public.orders rows=40000000 bytes=5000000000
-- options: allow-downtime
-- before
CREATE TABLE orders (id bigint PRIMARY KEY, quantity integer);
-- data
INSERT INTO orders SELECT g, g FROM generate_series(1, 500) g;
-- after
CREATE TABLE orders (id bigint PRIMARY KEY, quantity bigint);
