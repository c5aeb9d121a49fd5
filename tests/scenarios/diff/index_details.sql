-- Index keys with collations, operator class parameters, orderings, expressions and storage parameters.
-- before
CREATE EXTENSION pg_trgm;
CREATE TABLE t (a int, b int, name text, code text COLLATE "C");
-- after
CREATE EXTENSION pg_trgm;
CREATE TABLE t (a int, b int, name text, code text COLLATE "C");
CREATE INDEX t_name_c ON t (name COLLATE "C");
CREATE INDEX t_code ON t (code);
CREATE INDEX t_code_default ON t (code COLLATE "default");
CREATE INDEX t_trgm ON t USING gist (name gist_trgm_ops (siglen = 32));
CREATE INDEX t_order ON t (a NULLS FIRST, b DESC NULLS LAST, name DESC);
CREATE INDEX t_sum ON t ((a + b)) WITH (fillfactor = 70);
CREATE INDEX t_lower ON t (lower(name) text_pattern_ops);
