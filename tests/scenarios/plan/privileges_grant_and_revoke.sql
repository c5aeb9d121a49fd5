-- Grants go in expand; revokes wait for contract, when the old version no longer needs them.
-- options: with-privileges
-- before
CREATE TABLE reports (id bigint PRIMARY KEY);
GRANT SELECT, INSERT ON reports TO PUBLIC;
-- after
CREATE TABLE reports (id bigint PRIMARY KEY);
GRANT SELECT, UPDATE ON reports TO PUBLIC;
