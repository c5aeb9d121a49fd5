-- A new materialized view and its unique index: built once, nobody reads it yet.
-- facts: public.orders rows=8000000 bytes=900000000
-- before
CREATE TABLE orders (id bigint PRIMARY KEY, placed_on date, total numeric);
-- after
CREATE TABLE orders (id bigint PRIMARY KEY, placed_on date, total numeric);
CREATE MATERIALIZED VIEW daily_totals AS SELECT placed_on, sum(total) AS total FROM orders GROUP BY placed_on;
CREATE UNIQUE INDEX daily_totals_day ON daily_totals (placed_on);
-- new queries
SELECT total FROM daily_totals WHERE placed_on = current_date;
