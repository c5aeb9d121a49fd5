-- A serial column: sequence, column with its default, then OWNED BY.
-- before
CREATE TABLE t (name text);
-- after
CREATE TABLE t (name text, id bigserial);
