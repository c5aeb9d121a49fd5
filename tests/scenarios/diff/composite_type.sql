-- A composite type is created and used by a column and a function.
-- before
-- after
CREATE TYPE money_amount AS (currency char(3), cents bigint);
CREATE TABLE payments (id int, amount money_amount);
CREATE FUNCTION cents(a money_amount) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$ SELECT a.cents $$;
