-- A new enum for a new column; an old enum with no users left is dropped last.
-- before
CREATE TYPE old_kind AS ENUM ('a', 'b');
CREATE TABLE t (id int, kind old_kind);
-- after
CREATE TYPE priority AS ENUM ('low', 'high');
CREATE TABLE t (id int, prio priority DEFAULT 'low');
