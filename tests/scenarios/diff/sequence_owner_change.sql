-- A sequence moves from one owning column to another.
-- before
CREATE TABLE a (id int);
CREATE TABLE b (id int);
CREATE SEQUENCE s OWNED BY a.id;
-- after
CREATE TABLE a (id int);
CREATE TABLE b (id int);
CREATE SEQUENCE s OWNED BY b.id;
