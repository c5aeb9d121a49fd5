-- A dropped table: a data_loss hazard, and its serial sequence goes with it.
-- before
CREATE TABLE audit_log (id serial PRIMARY KEY, message text);
-- after
