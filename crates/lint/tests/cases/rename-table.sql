-- flagged: renaming an existing table
ALTER TABLE users RENAME TO customers;
-- flagged: an existing view
ALTER VIEW active_users RENAME TO active_customers;
-- not flagged: the table is created earlier in this history
CREATE TABLE staging_orders (id bigint);
ALTER TABLE staging_orders RENAME TO orders_import;
-- not flagged: renaming an index or moving a table to another schema
ALTER INDEX users_email_idx RENAME TO users_email_key;
ALTER TABLE users SET SCHEMA archive;
