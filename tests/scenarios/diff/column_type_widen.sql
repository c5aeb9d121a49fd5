-- Widening type changes keep every value, so they carry no data_loss hazard.
-- before
CREATE TABLE t (id integer, code varchar(10), amount numeric(10,2), label varchar(50));
-- after
CREATE TABLE t (id bigint, code varchar(20), amount numeric(14,2), label text);
