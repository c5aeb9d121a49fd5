-- A dropped column takes its indexes with it: data_loss, and index_dropped naming each index.
-- before
CREATE TABLE products (id int PRIMARY KEY, sku text, name text, CONSTRAINT products_sku_key UNIQUE (sku));
CREATE INDEX products_sku_name_idx ON products (sku, name);
CREATE INDEX products_name_idx ON products (name);
CREATE INDEX products_lower_sku_idx ON products (lower(sku));
INSERT INTO products VALUES (1, 'a-1', 'apple'), (2, 'b-2', 'banana');
-- after
CREATE TABLE products (id int PRIMARY KEY, name text);
CREATE INDEX products_name_idx ON products (name);
