-- lint: catalog=shop
-- The database has orders (about 12,000,000 rows) and page_views (about 48,000,000).
-- flagged: it references orders
CREATE TABLE order_events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id bigint NOT NULL REFERENCES orders (id),
    kind text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
-- flagged: page_views shows how large time series grow here
CREATE TABLE audit_logs (id bigint PRIMARY KEY, actor text, occurred_at timestamptz NOT NULL);
-- not flagged: partitioned; rows updated in place; not a time series
CREATE TABLE order_events_by_month (
    id bigint GENERATED ALWAYS AS IDENTITY,
    order_id bigint NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
CREATE TABLE delivery_events (id bigint PRIMARY KEY, created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL);
CREATE TABLE coupons (id bigint PRIMARY KEY, created_at timestamptz NOT NULL);
