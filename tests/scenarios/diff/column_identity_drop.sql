-- An identity column becomes a plain column and keeps NOT NULL only if asked.
-- before
CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY, name text);
-- after
CREATE TABLE t (id bigint, name text);
