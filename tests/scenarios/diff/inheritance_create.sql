-- New tables with multiple inheritance.
-- before
-- after
CREATE TABLE created (created_at timestamptz DEFAULT now());
CREATE TABLE owned (owner text NOT NULL);
CREATE TABLE documents (id int, title text) INHERITS (created, owned);
