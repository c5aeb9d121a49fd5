-- Composite attributes are added, dropped and re-typed in place.
-- before
CREATE TYPE addr AS (street text, zip int, country text);
-- after
CREATE TYPE addr AS (street text, zip text, city text);
