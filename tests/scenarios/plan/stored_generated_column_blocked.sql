-- A stored generated column on a large table would be computed under ACCESS EXCLUSIVE: a blocker with options.
-- facts: public.people rows=15000000 bytes=2000000000
-- before
CREATE TABLE people (id bigint PRIMARY KEY, first_name text, last_name text);
-- after
CREATE TABLE people (id bigint PRIMARY KEY, first_name text, last_name text, full_name text GENERATED ALWAYS AS (first_name || ' ' || last_name) STORED);
