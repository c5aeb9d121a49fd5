-- Before PostgreSQL 18 a foreign key on a partitioned table cannot be NOT VALID: a blocker on a large table.
-- facts: public.events rows=30000000 bytes=3000000000; public.accounts rows=100000
-- before
CREATE TABLE accounts (id bigint PRIMARY KEY);
CREATE TABLE events (id bigint NOT NULL, account_id bigint, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
-- after
CREATE TABLE accounts (id bigint PRIMARY KEY);
CREATE TABLE events (id bigint NOT NULL, account_id bigint REFERENCES accounts (id), at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
