-- A range type over a numeric subtype.
-- before
-- after
CREATE TYPE floatrange AS RANGE (subtype = float8, subtype_diff = float8mi);
CREATE TABLE measurements (id int, valid_range floatrange);
