-- A standalone sequence that no default uses any more is dropped after the default.
-- before
CREATE SEQUENCE s;
CREATE TABLE t (id bigint DEFAULT nextval('s'));
-- after
CREATE TABLE t (id bigint);
