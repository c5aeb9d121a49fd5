-- A stored generated column is added.
-- before
CREATE TABLE people (first_name text, last_name text);
-- after
CREATE TABLE people (first_name text, last_name text, full_name text GENERATED ALWAYS AS (first_name || ' ' || last_name) STORED);
