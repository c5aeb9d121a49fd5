-- A function body changes in place in expand; a function no longer used is dropped in contract.
-- before
CREATE FUNCTION tax(amount numeric) RETURNS numeric LANGUAGE sql IMMUTABLE AS $$ SELECT amount * 0.19 $$;
CREATE FUNCTION legacy_discount(amount numeric) RETURNS numeric LANGUAGE sql AS $$ SELECT amount * 0.9 $$;
-- after
CREATE FUNCTION tax(amount numeric) RETURNS numeric LANGUAGE sql IMMUTABLE AS $$ SELECT round(amount * 0.19, 2) $$;
-- old queries
SELECT legacy_discount(10), tax(10);
-- new queries
SELECT tax(10);
