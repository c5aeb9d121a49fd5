-- Overloads are different functions: one goes, one comes, one stays.
-- before
CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql AS $$ SELECT a $$;
CREATE FUNCTION f(a text) RETURNS text LANGUAGE sql AS $$ SELECT a $$;
-- after
CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql AS $$ SELECT a $$;
CREATE FUNCTION f(a numeric) RETURNS numeric LANGUAGE sql AS $$ SELECT a $$;
