-- A domain's default, NOT NULL and constraints change in place.
-- before
CREATE DOMAIN qty AS int DEFAULT 0 CONSTRAINT qty_small CHECK (VALUE < 100);
-- after
CREATE DOMAIN qty AS int DEFAULT 1 NOT NULL CONSTRAINT qty_positive CHECK (VALUE > 0);
