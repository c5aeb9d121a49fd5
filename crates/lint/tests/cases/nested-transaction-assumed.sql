-- lint: assume_in_transaction
-- The migration tool wraps this file in a transaction: every BEGIN and COMMIT is flagged.
SELECT 1;
BEGIN;
ALTER TABLE users ADD COLUMN nickname text;
COMMIT;
