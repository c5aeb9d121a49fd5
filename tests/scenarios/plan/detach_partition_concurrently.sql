-- A partition leaves its parent with DETACH ... CONCURRENTLY (PostgreSQL 14+), in the contract phase.
-- facts: public.events rows=20000000 bytes=2000000000; public.events_2024 rows=5000000 bytes=500000000
-- before
CREATE TABLE events (id bigint NOT NULL, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
-- after
CREATE TABLE events (id bigint NOT NULL, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE events_2024 (id bigint NOT NULL, at date NOT NULL);
-- old queries
SELECT count(*) FROM events;
