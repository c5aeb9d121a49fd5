-- Issue 10: a partition key column and bound values that spell bound syntax and SQL; the CHECK proving the bound and the detach are built from the catalog's structure.
-- facts: public.events_x"y rows=9000000 bytes=1100000000; public.events rows=20000000 bytes=2000000000; public.events_old rows=5000000 bytes=500000000
-- before
CREATE TABLE events ("at) OR (true" text COLLATE "C" NOT NULL, id bigint) PARTITION BY RANGE ("at) OR (true");
CREATE TABLE events_old PARTITION OF events FOR VALUES FROM (MINVALUE) TO (') TO (''a');
CREATE TABLE "events_x""y" ("at) OR (true" text COLLATE "C" NOT NULL, id bigint);
-- data
INSERT INTO "events_x""y" VALUES ('m', 1), ('z', 2);
-- after
CREATE TABLE events ("at) OR (true" text COLLATE "C" NOT NULL, id bigint) PARTITION BY RANGE ("at) OR (true");
CREATE TABLE "events_x""y" PARTITION OF events FOR VALUES FROM (') TO (''a') TO ('z'';DROP TABLE users;--');
CREATE TABLE events_old ("at) OR (true" text COLLATE "C" NOT NULL, id bigint);
-- new queries
SELECT count(*) FROM events WHERE "at) OR (true" >= 'm';
