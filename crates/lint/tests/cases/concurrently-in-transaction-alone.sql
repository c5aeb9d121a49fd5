-- lint: assume_in_transaction
-- not flagged: a one-statement file is run without the runner's transaction
CREATE UNIQUE INDEX CONCURRENTLY users_email_idx ON users (email);
