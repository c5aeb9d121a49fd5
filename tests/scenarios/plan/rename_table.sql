-- A table rename as expand/contract: renamed with an updatable view under the old name; constraints, indexes and the serial sequence follow the new name; the view goes in contract.
-- facts: public.users rows=3000000 bytes=400000000
-- options: rename-table=public.users=customers
-- before
CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL);
CREATE INDEX users_email_idx ON users (email);
CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id));
-- data
INSERT INTO users (email) SELECT 'u' || g FROM generate_series(1, 100) g;
-- after
CREATE TABLE customers (id bigserial PRIMARY KEY, email text NOT NULL);
CREATE INDEX customers_email_idx ON customers (email);
CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES customers (id));
-- old queries
INSERT INTO users (email) VALUES ('old app');
UPDATE users SET email = 'changed' WHERE id = 1;
SELECT count(*) FROM users;
-- new queries
INSERT INTO customers (email) VALUES ('new app');
SELECT count(*) FROM customers;
