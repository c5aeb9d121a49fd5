-- An extension no longer used goes after the column that used it.
-- before
CREATE EXTENSION hstore;
CREATE TABLE settings (id int PRIMARY KEY, attrs hstore);
-- after
CREATE TABLE settings (id int PRIMARY KEY);
