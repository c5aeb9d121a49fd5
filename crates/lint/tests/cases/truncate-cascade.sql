SET lock_timeout = '2s';
SET statement_timeout = '5min';
-- flagged
TRUNCATE a, b, c CASCADE;
-- not flagged
TRUNCATE a, b;
