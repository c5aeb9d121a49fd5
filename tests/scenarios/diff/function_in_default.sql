-- A function used by a column default is created before the column.
-- before
CREATE TABLE t (id int);
-- after
CREATE FUNCTION next_code() RETURNS text LANGUAGE plpgsql VOLATILE AS $$ BEGIN RETURN md5(random()::text); END $$;
CREATE TABLE t (id int, code text DEFAULT next_code());
