-- A dropped table waits for the contract phase.
-- facts: public.audit_log rows=50000000 bytes=9000000000
-- before
CREATE TABLE audit_log (id bigserial PRIMARY KEY, message text);
CREATE TABLE users (id bigint PRIMARY KEY);
-- after
CREATE TABLE users (id bigint PRIMARY KEY);
-- old queries
INSERT INTO audit_log (message) VALUES ('still written by the old version');
