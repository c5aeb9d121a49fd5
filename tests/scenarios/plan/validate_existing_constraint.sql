-- A constraint that exists NOT VALID and is wanted valid is validated in the switch phase.
-- facts: public.orders rows=8000000 bytes=900000000
-- before
CREATE TABLE orders (id bigint PRIMARY KEY, qty int);
ALTER TABLE orders ADD CONSTRAINT qty_positive CHECK (qty > 0) NOT VALID;
-- data
INSERT INTO orders SELECT g, 1 + g % 9 FROM generate_series(1, 500) g;
-- after
CREATE TABLE orders (id bigint PRIMARY KEY, qty int CONSTRAINT qty_positive CHECK (qty > 0));
