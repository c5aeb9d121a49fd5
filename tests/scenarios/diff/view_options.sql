-- View options (security_barrier, check_option) are part of the view.
-- before
CREATE TABLE t (id int, owner text);
CREATE VIEW mine AS SELECT id FROM t WHERE owner = current_user;
-- after
CREATE TABLE t (id int, owner text);
CREATE VIEW mine WITH (security_barrier = true, check_option = local) AS SELECT id FROM t WHERE owner = current_user;
