SET lock_timeout = '2s';
SET statement_timeout = '5min';
-- flagged: VALIDATE in the transaction that added the constraint
BEGIN;
ALTER TABLE app_email ADD CONSTRAINT fk_user FOREIGN KEY (user_id) REFERENCES app_user (id) NOT VALID;
ALTER TABLE app_email VALIDATE CONSTRAINT fk_user;
COMMIT;
-- flagged: a backfill under ADD COLUMN's ACCESS EXCLUSIVE
BEGIN;
ALTER TABLE users ADD COLUMN plan text;
UPDATE users SET plan = 'free';
COMMIT;
-- not flagged: DML on another table
BEGIN;
ALTER TABLE my_table ADD COLUMN c text;
UPDATE alembic_version SET version_num = 'b';
COMMIT;
-- not flagged: autocommit
ALTER TABLE distributors ADD CONSTRAINT distfk FOREIGN KEY (address) REFERENCES addresses (address) NOT VALID;
ALTER TABLE distributors VALIDATE CONSTRAINT distfk;
-- not flagged: a table created in this transaction
BEGIN;
CREATE TABLE fresh (id bigint, user_id bigint);
ALTER TABLE fresh ADD COLUMN note text;
UPDATE fresh SET note = '';
COMMIT;
