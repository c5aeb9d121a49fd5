-- A NOT VALID domain constraint is added NOT VALID.
-- before
CREATE DOMAIN pct AS int;
-- after
CREATE DOMAIN pct AS int;
ALTER DOMAIN pct ADD CONSTRAINT pct_range CHECK (VALUE BETWEEN 0 AND 100) NOT VALID;
