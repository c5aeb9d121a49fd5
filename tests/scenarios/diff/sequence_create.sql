-- A standalone sequence with options, and a default that uses it.
-- before
CREATE TABLE t (id bigint);
-- after
CREATE SEQUENCE invoice_numbers AS integer START WITH 1000 INCREMENT BY 5 MINVALUE 100 MAXVALUE 999999 CACHE 10 CYCLE;
CREATE TABLE t (id bigint DEFAULT nextval('invoice_numbers'));
