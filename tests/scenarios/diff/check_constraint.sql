-- Check constraints are added, changed and dropped.
-- before
CREATE TABLE t (qty int, price numeric, CONSTRAINT qty_positive CHECK (qty > 0), CONSTRAINT old_check CHECK (price < 1000));
-- after
CREATE TABLE t (qty int, price numeric, CONSTRAINT qty_positive CHECK (qty >= 0), CONSTRAINT price_positive CHECK (price > 0) NO INHERIT);
