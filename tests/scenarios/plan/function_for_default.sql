-- A function and a new column whose default calls it; the function is volatile, so the column is backfilled.
-- facts: public.tickets rows=400000 bytes=50000000
-- before
CREATE TABLE tickets (id bigint PRIMARY KEY);
-- data
INSERT INTO tickets SELECT g FROM generate_series(1, 50) g;
-- after
CREATE FUNCTION next_ref() RETURNS text LANGUAGE sql AS $$ SELECT 'T-' || floor(random() * 1000000)::text $$;
CREATE TABLE tickets (id bigint PRIMARY KEY, ref text DEFAULT next_ref());
