-- New columns are added at the end, with their defaults and NOT NULL.
-- before
CREATE TABLE products (id int PRIMARY KEY);
-- after
CREATE TABLE products (id int PRIMARY KEY, sku text NOT NULL DEFAULT '', price numeric(10,2), tags text[] DEFAULT '{}');
