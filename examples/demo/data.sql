-- A few rows for the demo, so the plan's backfill has something to fill.
INSERT INTO customers (email, name, loyalty_points)
SELECT 'customer' || n || '@example.com', 'Customer ' || n, n * 10 FROM generate_series(1, 20000) AS n;
INSERT INTO products (sku, title, price_cents)
SELECT 'SKU-' || n, 'Product ' || n, 100 + n FROM generate_series(1, 50) AS n;
INSERT INTO orders (customer_id, status, total_cents, legacy_ref)
SELECT 1 + (n % 20000), 'paid', 1000 + n, NULL FROM generate_series(1, 2000) AS n;
