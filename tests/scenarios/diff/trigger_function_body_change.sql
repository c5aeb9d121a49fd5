-- A trigger function changes body and security: replaced in place, the trigger stays untouched.
-- before
CREATE TABLE t (id int);
CREATE FUNCTION audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER t_audit AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION audit();
COMMENT ON TRIGGER t_audit ON t IS 'audit inserts';
-- after
CREATE TABLE t (id int);
CREATE FUNCTION audit() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$ BEGIN RETURN NULL; END $$;
CREATE TRIGGER t_audit AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION audit();
COMMENT ON TRIGGER t_audit ON t IS 'audit inserts';
