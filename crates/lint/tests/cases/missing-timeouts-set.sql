-- not flagged: both set before the DDL (names fold to lower case)
SET Lock_Timeout = '1s';
SET statement_timeout = '5s';
ALTER TABLE t ADD COLUMN c boolean;
