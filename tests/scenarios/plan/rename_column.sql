-- A column rename as expand/contract: new column, two-way sync trigger, backfill; the old name goes in contract.
-- facts: public.users rows=3000000 bytes=400000000
-- options: rename-column=public.users.fullname=full_name
-- before
CREATE TABLE users (id bigint PRIMARY KEY, fullname text NOT NULL);
-- data
INSERT INTO users SELECT g, 'user ' || g FROM generate_series(1, 2000) g;
-- after
CREATE TABLE users (id bigint PRIMARY KEY, full_name text NOT NULL);
-- old queries
INSERT INTO users (id, fullname) VALUES (5000001, 'old app');
UPDATE users SET fullname = 'renamed by old app' WHERE id = 1;
SELECT fullname FROM users WHERE id = 2;
-- new queries
INSERT INTO users (id, full_name) VALUES (5000002, 'new app');
SELECT full_name FROM users WHERE id = 2;
