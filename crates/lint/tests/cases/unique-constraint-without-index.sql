SET lock_timeout = '2s';
SET statement_timeout = '5min';
-- flagged: UNIQUE without USING INDEX on an existing table
ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);
-- flagged: table-level PRIMARY KEY
ALTER TABLE items ADD PRIMARY KEY (id);
-- flagged: ADD COLUMN ... UNIQUE
ALTER TABLE users ADD COLUMN handle text UNIQUE;
-- not flagged: USING INDEX
CREATE UNIQUE INDEX CONCURRENTLY users_login_key ON users (login);
ALTER TABLE users ADD CONSTRAINT users_login_key UNIQUE USING INDEX users_login_key;
-- not flagged: DROP CONSTRAINT
ALTER TABLE users DROP CONSTRAINT users_old_key;
-- not flagged: table created earlier in the history
CREATE TABLE products (id bigint, sku text);
ALTER TABLE products ADD CONSTRAINT products_sku_key UNIQUE (sku);
