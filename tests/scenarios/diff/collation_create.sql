-- An ICU collation used by a column.
-- before
CREATE TABLE t (name text);
-- after
CREATE COLLATION german_ci (provider = icu, locale = 'de-u-ks-level2', deterministic = false);
CREATE TABLE t (name text COLLATE german_ci);
