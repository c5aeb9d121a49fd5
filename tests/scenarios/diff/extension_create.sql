-- A new extension used by a new column: the extension is created first.
-- before
CREATE TABLE users (id bigint PRIMARY KEY);
-- after
CREATE EXTENSION citext;
CREATE TABLE users (id bigint PRIMARY KEY, email citext UNIQUE);
