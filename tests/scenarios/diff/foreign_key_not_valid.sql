-- A desired NOT VALID foreign key is added NOT VALID.
-- before
CREATE TABLE a (id int PRIMARY KEY);
CREATE TABLE b (a_id int);
-- after
CREATE TABLE a (id int PRIMARY KEY);
CREATE TABLE b (a_id int);
ALTER TABLE b ADD CONSTRAINT b_a_fk FOREIGN KEY (a_id) REFERENCES a (id) NOT VALID;
