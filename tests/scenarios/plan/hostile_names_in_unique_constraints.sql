-- Issue 10: names that spell SQL (DEFERRABLE, INCLUDE, ;DROP TABLE, quotes, $$, a newline) in unique constraints built through a concurrent index; deferral and INCLUDE come from the catalog, never from the printed definition.
-- facts: public.users rows=3000000 bytes=400000000
-- before
CREATE TABLE users (
    id bigint PRIMARY KEY,
    "x DEFERRABLE;DROP TABLE users;--" text,
    "a"") INCLUDE (""b" text,
    "NULLS NOT DISTINCT" text,
    "c$$
line" text
);
-- data
INSERT INTO users SELECT g, 'x' || g, 'a' || g, 'n' || g, 'c' || g FROM generate_series(1, 1000) g;
-- after
CREATE TABLE users (
    id bigint PRIMARY KEY,
    "x DEFERRABLE;DROP TABLE users;--" text,
    "a"") INCLUDE (""b" text,
    "NULLS NOT DISTINCT" text,
    "c$$
line" text
);
ALTER TABLE users ADD CONSTRAINT "k DEFERRABLE;DROP TABLE users;--" UNIQUE ("x DEFERRABLE;DROP TABLE users;--") INCLUDE ("a"") INCLUDE (""b", "c$$
line");
ALTER TABLE users ADD CONSTRAINT "INITIALLY DEFERRED" UNIQUE ("NULLS NOT DISTINCT") DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE users ADD CONSTRAINT "k3 NULLS NOT DISTINCT" UNIQUE ("a"") INCLUDE (""b") DEFERRABLE;
ALTER TABLE users ADD CONSTRAINT k4 UNIQUE NULLS NOT DISTINCT ("c$$
line");
-- old queries
SELECT id FROM users WHERE "x DEFERRABLE;DROP TABLE users;--" = 'x5';
-- new queries
INSERT INTO users VALUES (5000000, 'fresh', 'fresh', 'fresh', 'fresh');
SELECT count(*) FROM users;
