-- A valid CHECK and a valid foreign key that the target has NOT VALID: no statement un-validates a constraint, so each is dropped and added again NOT VALID.
-- before
CREATE TABLE customers (id bigint PRIMARY KEY);
CREATE TABLE orders (id bigint PRIMARY KEY, customer bigint, total numeric,
  CONSTRAINT orders_total_positive CHECK (total > 0),
  CONSTRAINT orders_customer_fkey FOREIGN KEY (customer) REFERENCES customers (id));
INSERT INTO customers VALUES (1);
INSERT INTO orders VALUES (1, 1, 10);
-- after
CREATE TABLE customers (id bigint PRIMARY KEY);
CREATE TABLE orders (id bigint PRIMARY KEY, customer bigint, total numeric);
ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total > 0) NOT VALID;
ALTER TABLE orders ADD CONSTRAINT orders_customer_fkey FOREIGN KEY (customer) REFERENCES customers (id) NOT VALID;
