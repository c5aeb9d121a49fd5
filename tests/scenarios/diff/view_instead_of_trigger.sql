-- An INSTEAD OF trigger on a view, with its function.
-- before
CREATE TABLE t (id int);
CREATE VIEW v AS SELECT id FROM t;
-- after
CREATE TABLE t (id int);
CREATE VIEW v AS SELECT id FROM t;
CREATE FUNCTION v_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO t VALUES (NEW.id); RETURN NEW; END $$;
CREATE TRIGGER v_insert INSTEAD OF INSERT ON v FOR EACH ROW EXECUTE FUNCTION v_insert();
