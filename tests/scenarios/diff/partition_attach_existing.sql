-- An existing table becomes a partition: it gains the parent's new column, then is attached.
-- before
CREATE TABLE events (id bigint, at date) PARTITION BY RANGE (at);
CREATE TABLE events_2026 (id bigint, at date);
-- after
CREATE TABLE events (id bigint, at date, kind text) PARTITION BY RANGE (at);
CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
