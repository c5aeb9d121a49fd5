-- Narrowing or converting type changes are flagged as data_loss.
-- before
CREATE TABLE t (id bigint, code varchar(20), ratio double precision, flag text);
-- after
CREATE TABLE t (id integer, code varchar(5), ratio numeric(4,2), flag boolean);
