-- A column with a constant default is catalog-only from PostgreSQL 11 on.
-- facts: public.users rows=10000000 bytes=1200000000
-- before
CREATE TABLE users (id bigint PRIMARY KEY, email text);
-- data
INSERT INTO users SELECT g, 'u' || g FROM generate_series(1, 1000) g;
-- after
CREATE TABLE users (id bigint PRIMARY KEY, email text, active boolean NOT NULL DEFAULT true, plan text DEFAULT 'free');
-- old queries
INSERT INTO users (id, email) VALUES (2000000, 'old-app@example.com');
-- new queries
SELECT id FROM users WHERE active AND plan = 'free';
