-- A foreign key's actions change: dropped and added again.
-- before
CREATE TABLE a (id int PRIMARY KEY);
CREATE TABLE b (a_id int, CONSTRAINT b_a_fk FOREIGN KEY (a_id) REFERENCES a (id));
-- after
CREATE TABLE a (id int PRIMARY KEY);
CREATE TABLE b (a_id int, CONSTRAINT b_a_fk FOREIGN KEY (a_id) REFERENCES a (id) ON DELETE CASCADE ON UPDATE SET NULL DEFERRABLE INITIALLY DEFERRED);
