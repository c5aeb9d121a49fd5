-- Indexes of a table created in the same plan are built plainly: the table is empty.
-- before
-- after
CREATE TABLE events (id bigint PRIMARY KEY, kind text, at timestamptz);
CREATE INDEX events_kind_idx ON events (kind);
-- new queries
SELECT id FROM events WHERE kind = 'x';
