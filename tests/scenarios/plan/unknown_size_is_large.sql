-- Without row counts (a table never analyzed, or a schema from SQL files), tables are assumed large.
-- before
CREATE TABLE users (id bigint PRIMARY KEY, email text);
-- after
CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);
CREATE INDEX users_email_idx ON users (email);
