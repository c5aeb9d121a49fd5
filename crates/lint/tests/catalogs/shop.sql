-- The live database of the design rules' cases (crates/lint/tests/cases/design-*.sql):
-- read into shop.json by applying this file to a scratch database and introspecting it,
-- with the row estimates of `-- facts:` set by hand.
-- facts: public.orders rows=12000000, public.page_views rows=48000000, public.customers rows=900000
CREATE TYPE order_status AS ENUM ('pending', 'paid', 'shipped');
CREATE TABLE customers (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT uq_customers_email UNIQUE (email)
);
CREATE TABLE countries (code text PRIMARY KEY, name text NOT NULL);
CREATE TABLE addresses (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id bigint NOT NULL,
    country_code text NOT NULL,
    CONSTRAINT fk_addresses_customer_id FOREIGN KEY (customer_id) REFERENCES customers (id),
    CONSTRAINT fk_addresses_country_code FOREIGN KEY (country_code) REFERENCES countries (code)
);
CREATE INDEX idx_addresses_customer_id ON addresses (customer_id);
CREATE INDEX idx_addresses_country_code ON addresses (country_code);
CREATE TABLE orders (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id bigint NOT NULL,
    status order_status NOT NULL DEFAULT 'pending',
    total numeric(12, 2) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT fk_orders_customer_id FOREIGN KEY (customer_id) REFERENCES customers (id)
);
CREATE INDEX idx_orders_customer_id ON orders (customer_id);
CREATE TABLE order_items (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id bigint NOT NULL,
    sku text NOT NULL,
    quantity bigint NOT NULL,
    CONSTRAINT fk_order_items_order_id FOREIGN KEY (order_id) REFERENCES orders (id)
);
CREATE INDEX idx_order_items_order_id ON order_items (order_id);
CREATE TABLE page_views (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id bigint,
    path text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_page_views_created_at ON page_views (created_at);
