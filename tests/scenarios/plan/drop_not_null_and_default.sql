-- Relaxing NOT NULL and changing defaults are catalog-only and go in expand.
-- facts: public.users rows=8000000 bytes=900000000
-- before
CREATE TABLE users (id bigint PRIMARY KEY, nickname text NOT NULL DEFAULT '', plan text DEFAULT 'free');
-- after
CREATE TABLE users (id bigint PRIMARY KEY, nickname text, plan text DEFAULT 'trial');
-- old queries
INSERT INTO users (id, nickname) VALUES (1, 'a');
-- new queries
INSERT INTO users (id) VALUES (2);
