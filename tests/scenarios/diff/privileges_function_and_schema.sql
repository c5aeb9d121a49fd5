-- EXECUTE revoked from PUBLIC on a new function, USAGE on a schema, sequence privileges.
-- options: with-privileges
-- before
CREATE SCHEMA api;
-- after
CREATE SCHEMA api;
GRANT USAGE ON SCHEMA api TO app_reader;
CREATE FUNCTION api.secret() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;
REVOKE EXECUTE ON FUNCTION api.secret() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.secret() TO app_reader;
CREATE SEQUENCE api.ids;
GRANT USAGE ON SEQUENCE api.ids TO app_reader;
