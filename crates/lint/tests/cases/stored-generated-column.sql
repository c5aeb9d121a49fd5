SET lock_timeout = '2s';
SET statement_timeout = '5min';
-- flagged: STORED on an existing table
ALTER TABLE orders ADD COLUMN total numeric GENERATED ALWAYS AS (price * quantity) STORED;
-- not flagged: VIRTUAL (PostgreSQL 18)
ALTER TABLE orders ADD COLUMN total_v numeric GENERATED ALWAYS AS (price * quantity) VIRTUAL;
-- not flagged: new table
CREATE TABLE fresh (a int, b int);
ALTER TABLE fresh ADD COLUMN c int GENERATED ALWAYS AS (a + b) STORED;
