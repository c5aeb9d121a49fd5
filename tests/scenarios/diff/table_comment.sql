-- Comments on a table and its columns are added, changed and removed.
-- before
CREATE TABLE accounts (id int, name text, old text);
COMMENT ON TABLE accounts IS 'customer accounts';
COMMENT ON COLUMN accounts.old IS 'to be removed';
-- after
CREATE TABLE accounts (id int, name text, old text);
COMMENT ON TABLE accounts IS 'Customer accounts, one per company';
COMMENT ON COLUMN accounts.name IS 'display name';
