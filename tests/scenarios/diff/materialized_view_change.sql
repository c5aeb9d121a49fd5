-- A materialized view's query changes: dropped and created with its indexes.
-- before
CREATE TABLE sales (day date, amount numeric);
CREATE MATERIALIZED VIEW daily_sales AS SELECT day, sum(amount) AS total FROM sales GROUP BY day;
CREATE INDEX daily_sales_day ON daily_sales (day);
-- after
CREATE TABLE sales (day date, amount numeric);
CREATE MATERIALIZED VIEW daily_sales AS SELECT day, sum(amount) AS total, count(*) AS n FROM sales GROUP BY day WITH NO DATA;
CREATE INDEX daily_sales_day ON daily_sales (day);
