-- A unique constraint on a large partitioned table has no concurrent path: a blocker.
-- facts: public.events rows=30000000 bytes=3000000000
-- before
CREATE TABLE events (id bigint NOT NULL, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
-- after
CREATE TABLE events (id bigint NOT NULL, at date NOT NULL, CONSTRAINT events_id_at_key UNIQUE (id, at)) PARTITION BY RANGE (at);
CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
