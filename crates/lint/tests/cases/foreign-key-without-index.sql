-- flagged: a column REFERENCES; a two-column key with an index on one of them; an index the key column does not lead
CREATE TABLE order_items (id bigint PRIMARY KEY, order_id bigint NOT NULL REFERENCES orders (id));
CREATE TABLE shipments (
    id bigint PRIMARY KEY,
    order_id bigint,
    warehouse_id bigint,
    FOREIGN KEY (order_id, warehouse_id) REFERENCES order_warehouses (order_id, warehouse_id)
);
CREATE INDEX shipments_order_id_idx ON shipments (order_id);
CREATE TABLE refunds (id bigint PRIMARY KEY, payment_id bigint REFERENCES payments (id), created_at timestamptz);
CREATE INDEX refunds_created_at_payment_id_idx ON refunds (created_at, payment_id);
-- flagged: a partial index does not count
CREATE TABLE credits (id bigint PRIMARY KEY, customer_id bigint REFERENCES customers (id));
CREATE INDEX credits_customer_id_idx ON credits (customer_id) WHERE customer_id IS NOT NULL;
-- not flagged: an index created later that starts with the key; the primary key or a unique
-- constraint leading (in any order)
CREATE TABLE invoice_lines (id bigint PRIMARY KEY, invoice_id bigint, line bigint, FOREIGN KEY (invoice_id) REFERENCES invoices (id));
CREATE INDEX invoice_lines_invoice_id_line_idx ON invoice_lines (invoice_id, line);
CREATE TABLE memberships (
    user_id bigint REFERENCES users (id),
    group_id bigint REFERENCES groups (id),
    PRIMARY KEY (user_id, group_id),
    UNIQUE (group_id, user_id)
);
-- not flagged: a table that exists before the migration, without --database (it may have the index)
ALTER TABLE orders ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;
