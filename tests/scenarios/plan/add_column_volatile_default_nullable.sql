-- A nullable column with a volatile default: backfilled in batches, nothing to enforce afterwards.
-- facts: public.sessions rows=900000 bytes=90000000
-- before
CREATE TABLE sessions (id bigint PRIMARY KEY);
-- data
INSERT INTO sessions SELECT g FROM generate_series(1, 300) g;
-- after
CREATE TABLE sessions (id bigint PRIMARY KEY, token text DEFAULT md5(random()::text));
