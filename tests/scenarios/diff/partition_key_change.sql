-- A partition key cannot change in place: the table is dropped and created (data_loss).
-- before
CREATE TABLE m (a int, b int) PARTITION BY RANGE (a);
-- after
CREATE TABLE m (a int, b int) PARTITION BY RANGE (b);
