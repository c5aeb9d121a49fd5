-- An extension whose objects include views: the extension is created, its views are its own business.
-- before
CREATE TABLE t (id int PRIMARY KEY);
-- after
CREATE TABLE t (id int PRIMARY KEY);
CREATE EXTENSION pg_buffercache;
CREATE VIEW buffer_use AS SELECT count(*) AS buffers FROM public.pg_buffercache;
