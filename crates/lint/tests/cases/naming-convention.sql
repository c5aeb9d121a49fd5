-- lint: catalog=shop
-- The database's tables are plural snake_case, indexes idx_{table}_{columns}, primary keys
-- {table}_pkey, foreign keys fk_{table}_{columns}.
-- flagged: a PascalCase singular table with a camelCase column and an unnamed foreign key
CREATE TABLE "OrderNote" (id bigint PRIMARY KEY, "orderId" bigint NOT NULL REFERENCES orders (id));
-- flagged: a singular table; an index named in another pattern; an unnamed index; a rename
CREATE TABLE order_note (id bigint PRIMARY KEY);
CREATE INDEX order_items_sku_idx ON order_items (sku);
CREATE INDEX ON order_items (quantity);
ALTER TABLE order_items ADD CONSTRAINT order_items_sku_fkey FOREIGN KEY (sku) REFERENCES skus (code);
ALTER TABLE customers RENAME TO client;
-- not flagged: names that follow the conventions; an uncountable table name
CREATE TABLE refunds (
    id bigint PRIMARY KEY,
    order_id bigint NOT NULL,
    CONSTRAINT fk_refunds_order_id FOREIGN KEY (order_id) REFERENCES orders (id)
);
CREATE INDEX idx_refunds_order_id ON refunds (order_id);
CREATE TABLE shipping_metadata (id bigint PRIMARY KEY, payload jsonb);
-- not flagged: CREATE TABLE IF NOT EXISTS of a table the database has (it does nothing)
CREATE TABLE IF NOT EXISTS page_views (id bigint, "Path" text);
-- a column added to an existing table follows that table's own columns: flagged (camelCase
-- in a snake_case table) and not flagged (snake_case)
ALTER TABLE orders ADD COLUMN "shippedAt" timestamptz;
ALTER TABLE orders ADD COLUMN shipped_at timestamptz;
