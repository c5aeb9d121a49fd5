-- A function used by a CHECK constraint changes its signature: constraint, function, constraint.
-- before
CREATE FUNCTION is_even(n int) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT n % 2 = 0 $$;
CREATE TABLE t (n int CONSTRAINT n_even CHECK (is_even(n)));
-- after
CREATE FUNCTION is_even(n bigint) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT n % 2 = 0 $$;
CREATE TABLE t (n int CONSTRAINT n_even CHECK (is_even(n)));
