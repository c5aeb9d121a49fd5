-- flagged: an existing table's column
ALTER TABLE users ALTER COLUMN email DROP NOT NULL;
-- not flagged: a table created earlier in this history
CREATE TABLE invites (id bigint, email text NOT NULL);
ALTER TABLE invites ALTER COLUMN email DROP NOT NULL;
-- not flagged: SET NOT NULL and DROP DEFAULT are other changes
ALTER TABLE users ALTER COLUMN name DROP DEFAULT;
