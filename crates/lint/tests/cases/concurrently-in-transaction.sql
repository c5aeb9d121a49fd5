-- flagged: explicit transaction
BEGIN;
CREATE INDEX CONCURRENTLY users_email_idx ON users (email);
COMMIT;
-- not flagged: autocommit
CREATE INDEX CONCURRENTLY users_name_idx ON users (name);
DROP INDEX CONCURRENTLY users_old_idx;
-- flagged: VACUUM in a transaction
BEGIN;
VACUUM users;
COMMIT;
