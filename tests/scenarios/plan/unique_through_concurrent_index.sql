-- A UNIQUE constraint is built as a concurrent unique index, then attached with USING INDEX.
-- facts: public.users rows=3000000 bytes=400000000
-- before
CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);
-- data
INSERT INTO users SELECT g, 'u' || g FROM generate_series(1, 1000) g;
-- after
CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL CONSTRAINT users_email_key UNIQUE);
-- old queries
SELECT id FROM users WHERE email = 'u5';
-- new queries
INSERT INTO users VALUES (5000000, 'fresh@example.com');
