-- A table that references itself.
-- before
-- after
CREATE TABLE categories (id int PRIMARY KEY, parent_id int REFERENCES categories (id) ON DELETE CASCADE);
