-- An enum loses a value: it is renamed away, created again, columns move over, the old one goes.
-- before
CREATE TYPE status AS ENUM ('draft', 'published', 'archived');
CREATE TABLE posts (id int, status status NOT NULL DEFAULT 'draft', previous status[]);
CREATE VIEW published AS SELECT id FROM posts WHERE status = 'published';
-- after
CREATE TYPE status AS ENUM ('draft', 'published');
CREATE TABLE posts (id int, status status NOT NULL DEFAULT 'draft', previous status[]);
CREATE VIEW published AS SELECT id FROM posts WHERE status = 'published';
