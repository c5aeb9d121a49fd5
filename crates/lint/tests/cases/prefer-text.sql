-- flagged: varchar with a length, any spelling, arrays too
CREATE TABLE products (code varchar(20), name character varying(200), tags pg_catalog.varchar(30)[]);
ALTER TABLE users ADD COLUMN nickname VARCHAR(50);
ALTER TABLE users ALTER COLUMN email TYPE varchar(320);
-- not flagged: varchar without a length, and text
CREATE TABLE notes (title varchar, body text);
