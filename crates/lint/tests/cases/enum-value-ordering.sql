SET lock_timeout = '2s';
SET statement_timeout = '5min';
-- flagged
ALTER TYPE order_status ADD VALUE 'refunded';
ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'disputed';
-- not flagged: BEFORE / AFTER, RENAME VALUE
ALTER TYPE order_status ADD VALUE 'held' BEFORE 'paid';
ALTER TYPE order_status ADD VALUE 'shipped' AFTER 'paid';
