-- A new enum and a new column of that type with a constant default: catalog only.
-- facts: public.tickets rows=3000000 bytes=300000000
-- before
CREATE TABLE tickets (id bigint PRIMARY KEY);
-- after
CREATE TYPE priority AS ENUM ('low', 'normal', 'high');
CREATE TABLE tickets (id bigint PRIMARY KEY, priority priority NOT NULL DEFAULT 'normal');
-- old queries
INSERT INTO tickets VALUES (1);
-- new queries
INSERT INTO tickets VALUES (2, 'high');
