-- lint: enable=unqualified-table
-- flagged: CREATE TABLE, CREATE TABLE AS, ALTER TABLE, DROP TABLE without a schema
CREATE TABLE accounts (id bigint);
CREATE TABLE account_ids AS SELECT id FROM public.accounts;
ALTER TABLE users ADD COLUMN nickname text;
DROP TABLE legacy_users;
-- not flagged: schema-qualified names
CREATE TABLE app.accounts (id bigint);
ALTER TABLE public.users ADD COLUMN bio text;
DROP TABLE public.legacy_users;
-- not flagged: temporary tables live in their own schema
CREATE TEMP TABLE tmp_ids (id bigint) ON COMMIT DROP;
CREATE TEMPORARY TABLE tmp_names AS SELECT 1 AS id;
ALTER TABLE tmp_names ADD COLUMN name text;
DROP TABLE tmp_names;
