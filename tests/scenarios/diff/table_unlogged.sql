-- Persistence changes in place, both ways.
-- before
CREATE UNLOGGED TABLE cache_entries (k text PRIMARY KEY, v text);
CREATE TABLE sessions (id uuid PRIMARY KEY);
-- after
CREATE TABLE cache_entries (k text PRIMARY KEY, v text);
CREATE UNLOGGED TABLE sessions (id uuid PRIMARY KEY);
