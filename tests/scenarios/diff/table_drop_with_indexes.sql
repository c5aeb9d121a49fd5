-- A dropped table takes its indexes with it: data_loss, and index_dropped naming each index.
-- before
CREATE TABLE orders (id bigint PRIMARY KEY, customer bigint, placed_on date, CONSTRAINT orders_customer_day UNIQUE (customer, placed_on));
CREATE INDEX orders_placed_on_idx ON orders (placed_on);
CREATE TABLE customers (id bigint PRIMARY KEY);
INSERT INTO customers VALUES (1), (2);
-- after
CREATE TABLE customers (id bigint PRIMARY KEY);
