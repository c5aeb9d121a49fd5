-- A NOT VALID constraint that the desired schema has validated is validated in place.
-- before
CREATE TABLE a (id int PRIMARY KEY);
CREATE TABLE b (a_id int, qty int);
ALTER TABLE b ADD CONSTRAINT b_a_fk FOREIGN KEY (a_id) REFERENCES a (id) NOT VALID;
ALTER TABLE b ADD CONSTRAINT b_qty_check CHECK (qty > 0) NOT VALID;
-- after
CREATE TABLE a (id int PRIMARY KEY);
CREATE TABLE b (a_id int, qty int);
ALTER TABLE b ADD CONSTRAINT b_a_fk FOREIGN KEY (a_id) REFERENCES a (id);
ALTER TABLE b ADD CONSTRAINT b_qty_check CHECK (qty > 0);
