-- A policy's roles and expressions change in place; a policy whose command changes is recreated.
-- before
CREATE TABLE docs (id int, owner text);
ALTER TABLE docs ENABLE ROW LEVEL SECURITY;
CREATE POLICY p1 ON docs USING (owner = current_user);
CREATE POLICY p2 ON docs FOR SELECT USING (true);
-- after
CREATE TABLE docs (id int, owner text);
ALTER TABLE docs ENABLE ROW LEVEL SECURITY;
CREATE POLICY p1 ON docs TO app_reader USING (owner = session_user);
CREATE POLICY p2 ON docs FOR UPDATE USING (true);
