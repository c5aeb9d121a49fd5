-- A large table joins a partitioned table: a validated CHECK proves the bound, so ATTACH skips its scan.
-- facts: public.events_2026 rows=9000000 bytes=1100000000
-- before
CREATE TABLE events (id bigint NOT NULL, at date NOT NULL, kind text) PARTITION BY RANGE (at);
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE events_2026 (id bigint NOT NULL, at date NOT NULL, kind text);
-- data
INSERT INTO events_2026 SELECT g, DATE '2026-01-01' + (g % 300), 'k' FROM generate_series(1, 1000) g;
-- after
CREATE TABLE events (id bigint NOT NULL, at date NOT NULL, kind text) PARTITION BY RANGE (at);
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
-- new queries
SELECT count(*) FROM events WHERE at >= '2026-03-01';
