-- A bigserial column on a large table: sequence, bare column, default nextval, batched backfill, NOT NULL through a CHECK, OWNED BY.
-- facts: public.legacy_rows rows=4000000 bytes=400000000
-- before
CREATE TABLE legacy_rows (payload text);
-- data
INSERT INTO legacy_rows SELECT 'p' || g FROM generate_series(1, 700) g;
-- after
CREATE TABLE legacy_rows (payload text, id bigserial);
-- old queries
INSERT INTO legacy_rows (payload) VALUES ('old app');
-- new queries
SELECT id FROM legacy_rows ORDER BY id DESC LIMIT 1;
