-- flagged: char, character, nchar, bpchar, "char", pg_catalog.char, any length, arrays
CREATE TABLE countries (code char(2), name character(100), flag nchar, x bpchar, y "char", z pg_catalog.char, w char[]);
ALTER TABLE users ADD COLUMN initial CHAR;
ALTER TABLE users ALTER COLUMN country TYPE character(2);
-- not flagged: varchar, text, and types that merely contain the letters
CREATE TABLE notes (title varchar(10), body text, d double precision, b bit varying);
