-- A new schema with a table in it: the schema comes first.
-- before
-- after
CREATE SCHEMA billing;
CREATE TABLE billing.invoices (id bigint PRIMARY KEY, total numeric(12,2) NOT NULL);
