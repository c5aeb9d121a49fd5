-- A body change is CREATE OR REPLACE in place.
-- before
CREATE FUNCTION greet(name text) RETURNS text LANGUAGE sql AS $$ SELECT 'hi ' || name $$;
-- after
CREATE FUNCTION greet(name text) RETURNS text LANGUAGE sql AS $$ SELECT 'hello ' || name $$;
