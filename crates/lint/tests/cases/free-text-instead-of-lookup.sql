-- lint: catalog=shop
-- The database has the enum order_status (orders.status) and the lookup table countries
-- (addresses.country_code references it).
-- flagged: status as text; country as varchar
CREATE TABLE returns (id bigint PRIMARY KEY, order_id bigint NOT NULL REFERENCES orders (id), status text NOT NULL);
ALTER TABLE customers ADD COLUMN country varchar(2);
-- flagged: an enum created earlier in the migration
CREATE TYPE ticket_priority AS ENUM ('low', 'high');
CREATE TABLE tickets (id bigint PRIMARY KEY, priority text);
-- not flagged: a column that references the lookup table; free text with no lookup; the enum type
ALTER TABLE page_views ADD COLUMN country text REFERENCES countries (code);
ALTER TABLE orders ADD COLUMN note text;
ALTER TABLE tickets ADD COLUMN severity ticket_priority;
