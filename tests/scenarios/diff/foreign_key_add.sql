-- A foreign key to a new table: the referenced table and its key come first.
-- before
CREATE TABLE orders (id int PRIMARY KEY, customer_id int);
-- after
CREATE TABLE customers (id int PRIMARY KEY);
CREATE TABLE orders (id int PRIMARY KEY, customer_id int REFERENCES customers (id));
