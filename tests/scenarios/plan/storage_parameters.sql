-- Storage parameters take SHARE UPDATE EXCLUSIVE: reads and writes continue.
-- facts: public.events rows=80000000 bytes=9000000000
-- before
CREATE TABLE events (id bigint PRIMARY KEY, payload jsonb);
-- after
CREATE TABLE events (id bigint PRIMARY KEY, payload jsonb) WITH (fillfactor = 80, autovacuum_vacuum_scale_factor = 0.02);
