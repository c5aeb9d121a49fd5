-- A rewrite of a small table is planned directly: the lock lasts milliseconds.
-- facts: public.countries rows=250 bytes=16384
-- before
CREATE TABLE countries (code char(2) PRIMARY KEY, population integer);
-- data
INSERT INTO countries VALUES ('de', 83000000), ('fr', 68000000);
-- after
CREATE TABLE countries (code char(2) PRIMARY KEY, population bigint);
