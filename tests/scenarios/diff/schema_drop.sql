-- A schema and everything in it go away: contents first, then the schema.
-- before
CREATE SCHEMA legacy;
CREATE TABLE legacy.events (id bigint PRIMARY KEY, payload jsonb);
CREATE VIEW legacy.recent AS SELECT id FROM legacy.events;
-- after
