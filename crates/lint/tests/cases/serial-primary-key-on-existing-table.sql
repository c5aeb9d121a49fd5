SET lock_timeout = '2s';
SET statement_timeout = '5min';
-- flagged: serial primary key, identity, serial
ALTER TABLE cities_users ADD COLUMN id bigserial PRIMARY KEY;
ALTER TABLE a ADD COLUMN n bigint GENERATED ALWAYS AS IDENTITY;
ALTER TABLE b ADD COLUMN n serial;
-- not flagged: PRIMARY KEY USING INDEX (an index built concurrently)
ALTER TABLE items ADD CONSTRAINT items_pk PRIMARY KEY USING INDEX items_pk;
-- not flagged: new table
CREATE TABLE fresh (name text);
ALTER TABLE fresh ADD COLUMN id bigserial PRIMARY KEY;
