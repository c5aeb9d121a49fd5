-- A column used by a policy changes type: the policy goes first and comes back.
-- before
CREATE TABLE docs (id int, tenant int);
CREATE POLICY tenant_only ON docs USING (tenant = 1);
-- after
CREATE TABLE docs (id int, tenant bigint);
CREATE POLICY tenant_only ON docs USING (tenant = 1);
