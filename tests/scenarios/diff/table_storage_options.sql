-- Storage parameters are set, changed and reset.
-- before
CREATE TABLE hot (id int) WITH (fillfactor = 70, autovacuum_enabled = false);
-- after
CREATE TABLE hot (id int) WITH (fillfactor = 90, autovacuum_vacuum_scale_factor = 0.01);
