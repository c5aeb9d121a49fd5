-- A primary key on a large table: NOT NULL through a CHECK, a concurrent unique index, then ADD PRIMARY KEY USING INDEX.
-- facts: public.events rows=20000000 bytes=2500000000
-- before
CREATE TABLE events (id bigint, payload text);
-- data
INSERT INTO events SELECT g, 'x' FROM generate_series(1, 1000) g;
-- after
CREATE TABLE events (id bigint PRIMARY KEY, payload text);
-- old queries
INSERT INTO events VALUES (1000001, 'y');
-- new queries
SELECT payload FROM events WHERE id = 5;
