-- A result type change needs a drop and a create, and the view that uses it is recreated.
-- before
CREATE FUNCTION answer() RETURNS int LANGUAGE sql AS $$ SELECT 42 $$;
CREATE VIEW v AS SELECT answer() AS a;
-- after
CREATE FUNCTION answer() RETURNS bigint LANGUAGE sql AS $$ SELECT 42::bigint $$;
CREATE VIEW v AS SELECT answer() AS a;
