-- An index on a materialized view the application reads: built CONCURRENTLY, an index build; an index dropped from it goes CONCURRENTLY in contract.
-- before
CREATE TABLE orders (id bigint PRIMARY KEY, placed_on date, total numeric);
INSERT INTO orders VALUES (1, '2026-01-01', 10), (2, '2026-01-01', 5), (3, '2026-01-02', 7);
CREATE MATERIALIZED VIEW daily_totals AS SELECT placed_on, sum(total) AS total FROM orders GROUP BY placed_on;
CREATE INDEX daily_totals_total ON daily_totals (total);
-- after
CREATE TABLE orders (id bigint PRIMARY KEY, placed_on date, total numeric);
CREATE MATERIALIZED VIEW daily_totals AS SELECT placed_on, sum(total) AS total FROM orders GROUP BY placed_on;
CREATE UNIQUE INDEX daily_totals_day ON daily_totals (placed_on);
-- old queries
SELECT total FROM daily_totals WHERE placed_on = '2026-01-01';
-- new queries
SELECT total FROM daily_totals WHERE placed_on = '2026-01-02';
