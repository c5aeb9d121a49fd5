-- Table and column privileges are granted and revoked.
-- options: with-privileges
-- before
CREATE TABLE t (id int, secret text);
GRANT SELECT, INSERT ON t TO app_reader;
-- after
CREATE TABLE t (id int, secret text);
GRANT SELECT ON t TO app_reader WITH GRANT OPTION;
GRANT UPDATE (secret) ON t TO app_reader;
