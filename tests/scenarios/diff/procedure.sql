-- A procedure is created, and another dropped.
-- before
CREATE PROCEDURE old_cleanup() LANGUAGE sql AS $$ SELECT 1 $$;
-- after
CREATE TABLE log (msg text);
CREATE PROCEDURE write_log(msg text) LANGUAGE plpgsql AS $$ BEGIN INSERT INTO log VALUES (msg); END $$;
