-- flagged: renaming a column of an existing table
ALTER TABLE users RENAME COLUMN name TO full_name;
-- flagged: a view's column
ALTER VIEW active_users RENAME COLUMN name TO full_name;
-- not flagged: the table is created earlier in this history
CREATE TABLE accounts (id bigint, name text);
ALTER TABLE accounts RENAME COLUMN name TO full_name;
-- not flagged: renaming a constraint is not a column rename
ALTER TABLE users RENAME CONSTRAINT users_email_key TO users_email_unique;
