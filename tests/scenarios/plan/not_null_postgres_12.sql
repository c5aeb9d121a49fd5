-- PostgreSQL 12 is the first release where SET NOT NULL uses a validated CHECK to skip its scan.
-- facts: public.users rows=5000000 bytes=700000000
-- options: pg-version=12
-- before
CREATE TABLE users (id bigint PRIMARY KEY, email text);
-- after
CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);
