-- On PostgreSQL 18, NOT NULL is added NOT VALID and validated, with no CHECK in between.
-- facts: public.users rows=5000000 bytes=700000000
-- options: pg-version=18
-- before
CREATE TABLE users (id bigint PRIMARY KEY, email text);
-- data
INSERT INTO users SELECT g, 'u' || g FROM generate_series(1, 1000) g;
-- after
CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);
