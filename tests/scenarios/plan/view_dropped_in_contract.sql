-- A view no longer wanted is dropped in the contract phase, with a rollback that recreates it.
-- before
CREATE TABLE orders (id bigint PRIMARY KEY, total numeric);
CREATE VIEW big_orders AS SELECT id FROM orders WHERE total > 1000;
-- after
CREATE TABLE orders (id bigint PRIMARY KEY, total numeric);
-- old queries
SELECT id FROM big_orders;
