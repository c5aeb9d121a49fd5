-- Row-level security and a policy on a live table: catalog only, flagged as a privileges change.
-- facts: public.documents rows=2000000 bytes=300000000
-- before
CREATE TABLE documents (id bigint PRIMARY KEY, owner text);
-- after
CREATE TABLE documents (id bigint PRIMARY KEY, owner text);
ALTER TABLE documents ENABLE ROW LEVEL SECURITY;
CREATE POLICY owner_only ON documents USING (owner = current_user);
