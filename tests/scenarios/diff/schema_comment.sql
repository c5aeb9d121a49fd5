-- A schema's comment changes.
-- before
CREATE SCHEMA app;
COMMENT ON SCHEMA app IS 'application tables';
-- after
CREATE SCHEMA app;
COMMENT ON SCHEMA app IS 'the application''s tables';
