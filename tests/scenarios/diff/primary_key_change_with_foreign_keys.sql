-- A primary key changes columns: the foreign keys that use it are dropped first and added back.
-- before
CREATE TABLE parent (id int PRIMARY KEY, tenant int NOT NULL);
CREATE TABLE child (parent_id int REFERENCES parent (id));
-- after
CREATE TABLE parent (id int NOT NULL, tenant int NOT NULL, PRIMARY KEY (id, tenant), UNIQUE (id));
CREATE TABLE child (parent_id int REFERENCES parent (id));
