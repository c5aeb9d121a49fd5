-- lint: naming.tables=singular naming.column_case=camel naming.index=index_{table}_on_{columns} naming.primary_key=off
-- No database: only the conventions cutover.toml sets are checked.
-- flagged: a plural table, a snake_case column, an index in another pattern
CREATE TABLE "orderItems" (id bigint PRIMARY KEY, order_id bigint NOT NULL);
CREATE INDEX "orderItems_order_id_idx" ON "orderItems" (order_id);
-- not flagged
CREATE TABLE "orderNote" (id bigint PRIMARY KEY, "orderId" bigint NOT NULL);
CREATE INDEX "index_orderNote_on_orderId" ON "orderNote" ("orderId");
