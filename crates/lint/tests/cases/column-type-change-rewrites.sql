SET lock_timeout = '2s';
SET statement_timeout = '5min';
-- flagged: old type unknown
ALTER TABLE core_recipe ALTER COLUMN edits TYPE text USING edits::text;
-- flagged: known rewrites (old types from ADD COLUMN earlier in the file)
ALTER TABLE products ADD COLUMN price numeric(10,2), ADD COLUMN name varchar(100), ADD COLUMN code varchar(20), ADD COLUMN qty integer;
ALTER TABLE products ALTER COLUMN price TYPE numeric(10,4);
ALTER TABLE products ALTER COLUMN name TYPE varchar(50);
ALTER TABLE products ALTER COLUMN code TYPE integer USING code::integer;
ALTER TABLE products ALTER COLUMN qty TYPE bigint;
-- not flagged: rewrite-free changes
ALTER TABLE products ADD COLUMN label varchar(100), ADD COLUMN sku varchar(20), ADD COLUMN cost numeric(10,2), ADD COLUMN span interval(0), ADD COLUMN at time(0), ADD COLUMN net cidr;
ALTER TABLE products ALTER COLUMN label TYPE varchar(200);
ALTER TABLE products ALTER COLUMN sku TYPE text;
ALTER TABLE products ALTER COLUMN cost TYPE numeric(12,2);
ALTER TABLE products ALTER COLUMN span TYPE interval;
ALTER TABLE products ALTER COLUMN at TYPE time(3);
ALTER TABLE products ALTER COLUMN net TYPE inet;
-- not flagged: new table
CREATE TABLE fresh (n integer);
ALTER TABLE fresh ALTER COLUMN n TYPE bigint;
