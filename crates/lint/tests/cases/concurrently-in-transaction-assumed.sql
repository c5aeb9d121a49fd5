-- lint: assume_in_transaction
-- flagged at the end of the file: the runner wraps this two-statement file in a transaction
CREATE UNIQUE INDEX CONCURRENTLY users_email_idx ON users (email);
ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_idx;
