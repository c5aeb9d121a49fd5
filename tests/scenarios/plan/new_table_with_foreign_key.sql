-- A new table referencing a live one: its foreign key needs no NOT VALID step (it has no rows).
-- facts: public.customers rows=2000000 bytes=200000000
-- before
CREATE TABLE customers (id bigint PRIMARY KEY);
-- after
CREATE TABLE customers (id bigint PRIMARY KEY);
CREATE TABLE invoices (id bigint PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers (id), total numeric NOT NULL);
CREATE INDEX invoices_customer_idx ON invoices (customer_id);
-- new queries
SELECT count(*) FROM invoices WHERE customer_id = 1;
