-- A NOT NULL column without a default on a populated table cannot be added: a blocker with options.
-- facts: public.users rows=100000 bytes=12000000
-- expect: blocked
-- before
CREATE TABLE users (id bigint PRIMARY KEY);
-- data
INSERT INTO users SELECT g FROM generate_series(1, 10) g;
-- after
CREATE TABLE users (id bigint PRIMARY KEY, tenant_id bigint NOT NULL);
