-- Reordered enum values need the type recreated.
-- before
CREATE TYPE size AS ENUM ('large', 'small', 'medium');
CREATE TABLE shirts (size size);
-- after
CREATE TYPE size AS ENUM ('small', 'medium', 'large');
CREATE TABLE shirts (size size);
