-- A leftover INVALID index from a failed concurrent build is dropped and built again.
-- facts: public.users rows=2000000 bytes=300000000
-- before
CREATE TABLE users (id bigint PRIMARY KEY, email text);
CREATE UNIQUE INDEX users_email_key ON users (email);
-- data
INSERT INTO users SELECT g, 'u' || g || '@example.com' FROM generate_series(1, 1000) g;
UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'users_email_key'::regclass;
-- after
CREATE TABLE users (id bigint PRIMARY KEY, email text);
CREATE UNIQUE INDEX users_email_key ON users (email);
-- new queries
SELECT id FROM users WHERE email = 'u1@example.com';
