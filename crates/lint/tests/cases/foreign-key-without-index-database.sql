-- lint: catalog=shop
-- flagged: page_views has no index on customer_id (the suggested name follows the database's idx_ pattern)
ALTER TABLE page_views ADD CONSTRAINT fk_page_views_customer_id FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;
-- not flagged: orders has idx_orders_customer_id
ALTER TABLE orders ADD CONSTRAINT fk_orders_customer_id_2 FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;
-- not flagged: CREATE TABLE IF NOT EXISTS of a table the database has (no primary key
-- warning either)
CREATE TABLE IF NOT EXISTS page_views (id bigint);
