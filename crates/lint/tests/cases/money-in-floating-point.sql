-- flagged: double precision, real, arrays, float(n), camelCase names, ALTER COLUMN ... TYPE
CREATE TABLE invoices (id bigint PRIMARY KEY, total double precision NOT NULL, "unitPrice" real, tax_amounts float8[]);
ALTER TABLE orders ADD COLUMN shipping_cost float(53);
ALTER TABLE orders ALTER COLUMN discount TYPE real;
-- not flagged: money in numeric; floats that count or measure
CREATE TABLE line_items (id bigint PRIMARY KEY, price numeric(12,2), total_count double precision, tax_rate real, weight double precision, amount_ml real);
