-- Issue 10: a role really named "PUBLIC" is not the PUBLIC pseudo-role: moving a grant from one to the other is a revoke and a grant.
-- options: with-privileges
-- before
DO $$ BEGIN CREATE ROLE "PUBLIC"; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
CREATE TABLE reports (id bigint PRIMARY KEY, body text);
GRANT SELECT ON reports TO PUBLIC;
GRANT UPDATE (body) ON reports TO "PUBLIC";
ALTER TABLE reports ENABLE ROW LEVEL SECURITY;
CREATE POLICY readers ON reports FOR SELECT TO PUBLIC USING (true);
-- after
DO $$ BEGIN CREATE ROLE "PUBLIC"; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
CREATE TABLE reports (id bigint PRIMARY KEY, body text);
GRANT SELECT ON reports TO "PUBLIC";
GRANT UPDATE (body) ON reports TO PUBLIC;
ALTER TABLE reports ENABLE ROW LEVEL SECURITY;
CREATE POLICY readers ON reports FOR SELECT TO "PUBLIC" USING (true);
