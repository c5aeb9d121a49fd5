-- Unique, expression, partial, INCLUDE, descending, and non-btree indexes.
-- before
CREATE TABLE docs (id int, email text, body text, tags text[], deleted_at timestamptz, created_at timestamptz);
-- after
CREATE TABLE docs (id int, email text, body text, tags text[], deleted_at timestamptz, created_at timestamptz);
CREATE UNIQUE INDEX docs_email_key ON docs (lower(email)) WHERE deleted_at IS NULL;
CREATE INDEX docs_created_idx ON docs (created_at DESC NULLS LAST) INCLUDE (id);
CREATE INDEX docs_tags_idx ON docs USING gin (tags);
CREATE INDEX docs_body_hash ON docs USING hash (body);
CREATE UNIQUE INDEX docs_id_nnd ON docs (id) NULLS NOT DISTINCT;
