-- A table starts inheriting from a parent; another stops.
-- before
CREATE TABLE base (created_at timestamptz);
CREATE TABLE a (created_at timestamptz, x int);
CREATE TABLE b (y int) INHERITS (base);
-- after
CREATE TABLE base (created_at timestamptz);
CREATE TABLE a (x int) INHERITS (base);
CREATE TABLE b (created_at timestamptz, y int);
