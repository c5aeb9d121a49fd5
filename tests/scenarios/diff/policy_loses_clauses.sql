-- Policies that lose their USING or WITH CHECK clause are created again: ALTER POLICY cannot remove a clause.
-- before
CREATE TABLE notes (id int PRIMARY KEY, owner text, body text);
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY notes_read ON notes FOR ALL USING (owner = current_user) WITH CHECK (owner = current_user);
CREATE POLICY notes_write ON notes FOR ALL USING (owner = current_user) WITH CHECK (body IS NOT NULL);
-- after
CREATE TABLE notes (id int PRIMARY KEY, owner text, body text);
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY notes_read ON notes FOR ALL USING (owner = current_user);
CREATE POLICY notes_write ON notes FOR ALL WITH CHECK (body IS NOT NULL);
