-- lint: assume_in_transaction
-- not flagged: COMMIT ends the runner's transaction first
COMMIT;
CREATE UNIQUE INDEX CONCURRENTLY users_email_idx ON users (email);
BEGIN;
ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_idx;
