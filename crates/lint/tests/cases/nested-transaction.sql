-- not flagged: one transaction after another
BEGIN;
SELECT 1;
COMMIT;
BEGIN;
-- flagged: BEGIN inside the transaction begun above
BEGIN;
SELECT 2;
COMMIT;
-- flagged: nothing left to commit
COMMIT;
-- not flagged: savepoints are not transactions
BEGIN;
SAVEPOINT before_update;
ROLLBACK TO SAVEPOINT before_update;
COMMIT;
