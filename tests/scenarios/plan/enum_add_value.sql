-- A new enum value is added on its own, outside a transaction.
-- facts: public.orders rows=1000000 bytes=100000000
-- before
CREATE TYPE order_status AS ENUM ('pending', 'paid');
CREATE TABLE orders (id bigint PRIMARY KEY, status order_status NOT NULL DEFAULT 'pending');
-- after
CREATE TYPE order_status AS ENUM ('pending', 'paid', 'refunded');
CREATE TABLE orders (id bigint PRIMARY KEY, status order_status NOT NULL DEFAULT 'pending');
-- new queries
INSERT INTO orders VALUES (1, 'refunded');
