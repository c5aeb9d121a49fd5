-- NOT NULL on a large table goes through a validated CHECK, so SET NOT NULL skips its scan.
-- facts: public.users rows=5000000 bytes=700000000
-- before
CREATE TABLE users (id bigint PRIMARY KEY, email text);
-- data
INSERT INTO users SELECT g, 'u' || g FROM generate_series(1, 1000) g;
-- after
CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);
-- old queries
SELECT email FROM users WHERE id = 1;
-- new queries
INSERT INTO users VALUES (900000, 'x');
