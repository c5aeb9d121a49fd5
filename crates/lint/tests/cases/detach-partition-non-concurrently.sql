SET lock_timeout = '2s';
SET statement_timeout = '5min';
-- flagged
ALTER TABLE events DETACH PARTITION events_2023;
-- not flagged: CONCURRENTLY, FINALIZE
ALTER TABLE events DETACH PARTITION events_2022 CONCURRENTLY;
ALTER TABLE events DETACH PARTITION events_2022 FINALIZE;
