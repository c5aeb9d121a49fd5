-- A materialized view with an index and a comment.
-- before
CREATE TABLE sales (day date, amount numeric);
-- after
CREATE TABLE sales (day date, amount numeric);
CREATE MATERIALIZED VIEW daily_sales AS SELECT day, sum(amount) AS total FROM sales GROUP BY day;
CREATE UNIQUE INDEX daily_sales_day ON daily_sales (day);
COMMENT ON MATERIALIZED VIEW daily_sales IS 'refreshed nightly';
