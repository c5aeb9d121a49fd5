-- Row-level security is enabled and forced, with a permissive and a restrictive policy.
-- before
CREATE TABLE docs (id int, owner text, tenant int);
-- after
CREATE TABLE docs (id int, owner text, tenant int);
ALTER TABLE docs ENABLE ROW LEVEL SECURITY;
ALTER TABLE docs FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_reads ON docs FOR SELECT TO app_reader USING (owner = current_user);
CREATE POLICY same_tenant ON docs AS RESTRICTIVE USING (tenant = current_setting('app.tenant')::int) WITH CHECK (tenant = current_setting('app.tenant')::int);
