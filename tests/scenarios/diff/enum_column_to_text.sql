-- A column moves from an enum to text and back the other way on another column.
-- before
CREATE TYPE color AS ENUM ('red', 'green');
CREATE TABLE t (a color, b text);
-- after
CREATE TYPE color AS ENUM ('red', 'green');
CREATE TABLE t (a text, b color);
