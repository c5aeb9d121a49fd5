-- One changed table among many unchanged objects: only that change is emitted.
-- before
CREATE TYPE kind AS ENUM ('a', 'b');
CREATE TABLE t1 (id int PRIMARY KEY, k kind);
CREATE TABLE t2 (id int PRIMARY KEY, t1_id int REFERENCES t1);
CREATE VIEW v AS SELECT t1.id, t2.id AS t2_id FROM t1 JOIN t2 ON t2.t1_id = t1.id;
CREATE INDEX t2_t1_idx ON t2 (t1_id);
-- after
CREATE TYPE kind AS ENUM ('a', 'b');
CREATE TABLE t1 (id int PRIMARY KEY, k kind);
CREATE TABLE t2 (id int PRIMARY KEY, t1_id int REFERENCES t1, note text);
CREATE VIEW v AS SELECT t1.id, t2.id AS t2_id FROM t1 JOIN t2 ON t2.t1_id = t1.id;
CREATE INDEX t2_t1_idx ON t2 (t1_id);
