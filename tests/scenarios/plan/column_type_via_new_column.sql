-- integer to bigint on a large table through a new column: trigger, backfill, index copy, swap, drop old.
-- facts: public.orders rows=40000000 bytes=5000000000
-- before
CREATE TABLE orders (id bigint PRIMARY KEY, quantity integer NOT NULL DEFAULT 1, note text);
CREATE INDEX orders_quantity_idx ON orders (quantity);
COMMENT ON COLUMN orders.quantity IS 'items ordered';
-- data
INSERT INTO orders SELECT g, g % 50, 'n' FROM generate_series(1, 3000) g;
-- after
CREATE TABLE orders (id bigint PRIMARY KEY, quantity bigint NOT NULL DEFAULT 1, note text);
CREATE INDEX orders_quantity_idx ON orders (quantity);
COMMENT ON COLUMN orders.quantity IS 'items ordered';
-- old queries
INSERT INTO orders (id, note) VALUES (90000001, 'old app');
UPDATE orders SET quantity = 3 WHERE id = 1;
SELECT sum(quantity) FROM orders;
-- new queries from switch
INSERT INTO orders (id, quantity) VALUES (90000002, 5000000000);
