-- integer to bigint rewrites a large table under ACCESS EXCLUSIVE: a blocker unless downtime is accepted.
-- facts: public.orders rows=40000000 bytes=5000000000
-- before
CREATE TABLE orders (id bigint PRIMARY KEY, quantity integer);
-- data
INSERT INTO orders SELECT g, g FROM generate_series(1, 500) g;
-- after
CREATE TABLE orders (id bigint PRIMARY KEY, quantity bigint);
