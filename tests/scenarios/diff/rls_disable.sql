-- Row-level security is disabled and its policy dropped.
-- before
CREATE TABLE docs (id int);
ALTER TABLE docs ENABLE ROW LEVEL SECURITY;
CREATE POLICY everyone ON docs USING (true);
-- after
CREATE TABLE docs (id int);
