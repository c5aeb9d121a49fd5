-- not flagged: the first transaction is committed (and a BEGIN inside it is no new transaction)
BEGIN;
BEGIN;
ALTER TABLE users ADD COLUMN nickname text;
COMMIT;
-- flagged (at the end of the file): this transaction is never committed
START TRANSACTION;
ALTER TABLE users ADD COLUMN bio text;
