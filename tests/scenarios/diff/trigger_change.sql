-- A trigger's definition changes (events and WHEN): dropped and created again.
-- before
CREATE TABLE t (id int, v int);
CREATE FUNCTION noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER t_noop BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION noop();
-- after
CREATE TABLE t (id int, v int);
CREATE FUNCTION noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER t_noop BEFORE INSERT OR UPDATE OF v ON t FOR EACH ROW WHEN (NEW.v IS NOT NULL) EXECUTE FUNCTION noop();
