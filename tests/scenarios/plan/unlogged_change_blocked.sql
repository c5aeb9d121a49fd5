-- Changing a large table to UNLOGGED rewrites it: a blocker unless downtime is accepted.
-- facts: public.cache rows=3000000 bytes=400000000
-- before
CREATE TABLE cache (k text PRIMARY KEY, v text);
-- after
CREATE UNLOGGED TABLE cache (k text PRIMARY KEY, v text);
