-- A volatile default would rewrite the table: add the column, set the default, backfill, then enforce NOT NULL.
-- facts: public.users rows=6000000 bytes=800000000
-- before
CREATE TABLE users (id bigint PRIMARY KEY, email text);
-- data
INSERT INTO users SELECT g, 'u' || g FROM generate_series(1, 1200) g;
-- after
CREATE TABLE users (id bigint PRIMARY KEY, email text, public_id uuid NOT NULL DEFAULT gen_random_uuid());
-- old queries
INSERT INTO users (id, email) VALUES (9000000, 'old-app@example.com');
-- new queries
SELECT public_id FROM users WHERE id = 1;
