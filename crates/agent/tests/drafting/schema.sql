-- The shop the drafting scenarios run against.
CREATE TABLE customers (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE orders (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers (id),
    status text NOT NULL,
    legacy_status text,
    total_cents bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_customer_id_idx ON orders (customer_id);
CREATE TABLE users (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL
);
CREATE TABLE audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL,
    message text NOT NULL
);
INSERT INTO customers (email) SELECT 'c' || i || '@example.com' FROM generate_series(1, 20) i;
INSERT INTO orders (customer_id, status, total_cents) SELECT 1 + i % 20, 'paid', i * 100 FROM generate_series(1, 50) i;
INSERT INTO users (name) VALUES ('ada'), ('grace');
ANALYZE;
