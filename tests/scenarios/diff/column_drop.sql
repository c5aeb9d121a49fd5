-- A dropped column is a data_loss hazard.
-- before
CREATE TABLE products (id int PRIMARY KEY, legacy_code text, name text);
-- after
CREATE TABLE products (id int PRIMARY KEY, name text);
