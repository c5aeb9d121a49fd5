-- A CHECK constraint is added NOT VALID and validated separately.
-- facts: public.payments rows=4000000 bytes=500000000
-- before
CREATE TABLE payments (id bigint PRIMARY KEY, amount_cents bigint);
-- data
INSERT INTO payments SELECT g, g * 10 FROM generate_series(1, 1000) g;
-- after
CREATE TABLE payments (id bigint PRIMARY KEY, amount_cents bigint CONSTRAINT amount_positive CHECK (amount_cents > 0));
-- old queries
INSERT INTO payments VALUES (5000, 100);
-- new queries
INSERT INTO payments VALUES (5000, 100);
