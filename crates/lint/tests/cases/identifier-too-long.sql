-- flagged: a 64-byte table name and a 70-byte column name (two findings)
CREATE TABLE table_very_long_very_long_very_long_very_long_very_long_very_long (column_very_long_very_long_very_long_very_long_very_long_very_long_x bigint);
-- flagged: quoted names count bytes after unquoting, so multi-byte characters reach 63 sooner
ALTER TABLE users ADD COLUMN "prénom_très_très_très_très_très_très_très_très_très_long" text;
-- not flagged: exactly 63 bytes, and short names
CREATE TABLE table_very_long_very_long_very_long_very_long_very_long_very_lo (id bigint);
CREATE INDEX users_email_idx ON users (email);
