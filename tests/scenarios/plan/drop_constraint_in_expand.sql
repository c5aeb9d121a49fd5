-- Dropping a constraint relaxes a rule: it goes in expand, so the new version may rely on it.
-- facts: public.orders rows=8000000 bytes=900000000
-- before
CREATE TABLE orders (id bigint PRIMARY KEY, qty int CONSTRAINT qty_small CHECK (qty < 100));
-- after
CREATE TABLE orders (id bigint PRIMARY KEY, qty int);
-- new queries
INSERT INTO orders VALUES (1, 500);
