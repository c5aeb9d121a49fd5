-- lint: enable=non-idempotent-statement
-- flagged: CREATE TABLE / CREATE INDEX / ADD COLUMN / DROP without guards, outside a transaction
CREATE TABLE accounts (id bigint);
CREATE INDEX CONCURRENTLY accounts_id_idx ON accounts (id);
ALTER TABLE users ADD COLUMN nickname text, DROP COLUMN legacy;
DROP INDEX users_old_idx;
-- flagged: subcommands that have no guard form
ALTER TABLE users ALTER COLUMN email SET NOT NULL;
-- not flagged: guarded forms
CREATE TABLE IF NOT EXISTS accounts (id bigint);
CREATE INDEX CONCURRENTLY IF NOT EXISTS accounts_id_idx ON accounts (id);
ALTER TABLE users ADD COLUMN IF NOT EXISTS nickname text;
DROP TABLE IF EXISTS legacy_users;
-- not flagged: re-adding a constraint just dropped with IF EXISTS, then validating it
ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_user_fk;
ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;
ALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk;
-- not flagged: unnamed indexes, temporary tables dropped on commit, plain DML
CREATE INDEX CONCURRENTLY ON users (created_at);
CREATE TEMP TABLE tmp_ids (id bigint) ON COMMIT DROP;
INSERT INTO accounts VALUES (1);
-- not flagged: inside a transaction a failure rolls everything back
BEGIN;
CREATE TABLE audit (id bigint);
ALTER TABLE users DROP COLUMN bio;
COMMIT;
