-- flagged: dropping existing tables, with or without IF EXISTS / CASCADE
DROP TABLE users;
DROP TABLE IF EXISTS app.orders CASCADE;
-- flagged: DROP SCHEMA ... CASCADE drops every table in it
DROP SCHEMA billing CASCADE;
-- not flagged: tables created earlier in this history (temporary ones too)
CREATE TABLE scratch (id bigint);
DROP TABLE scratch;
CREATE TEMP TABLE tmp_ids (id bigint);
DROP TABLE tmp_ids;
-- not flagged: other objects, and DROP SCHEMA without CASCADE
DROP VIEW active_users;
DROP SCHEMA empty_schema;
