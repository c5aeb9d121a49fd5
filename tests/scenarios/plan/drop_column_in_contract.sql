-- A dropped column waits for the contract phase, after the old application is gone.
-- facts: public.users rows=2000000 bytes=250000000
-- before
CREATE TABLE users (id bigint PRIMARY KEY, email text, legacy_flag boolean);
-- data
INSERT INTO users SELECT g, 'u' || g, true FROM generate_series(1, 100) g;
-- after
CREATE TABLE users (id bigint PRIMARY KEY, email text);
-- old queries
SELECT legacy_flag FROM users WHERE id = 1;
-- new queries
SELECT email FROM users WHERE id = 1;
