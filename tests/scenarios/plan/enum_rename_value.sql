-- An enum label renamed in place: catalog only, but the running version's writes of the old label fail, so it waits for the switch.
-- facts: public.tasks rows=2000000 bytes=200000000
-- before
CREATE TYPE status AS ENUM ('pending', 'done');
CREATE TABLE tasks (id bigint PRIMARY KEY, status status NOT NULL DEFAULT 'pending');
-- data
INSERT INTO tasks SELECT g, 'done' FROM generate_series(1, 100) g;
-- after
CREATE TYPE status AS ENUM ('pending', 'completed');
CREATE TABLE tasks (id bigint PRIMARY KEY, status status NOT NULL DEFAULT 'pending');
-- new queries from switch
SELECT count(*) FROM tasks WHERE status = 'completed';
