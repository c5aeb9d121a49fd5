-- A domain with a default, NOT NULL and checks, used by a column.
-- before
-- after
CREATE DOMAIN email AS text COLLATE "C" DEFAULT 'unknown@example.com' NOT NULL CONSTRAINT email_has_at CHECK (VALUE LIKE '%@%');
CREATE TABLE users (address email);
