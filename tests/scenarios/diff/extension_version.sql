-- With extension versions compared, an older version is updated in place.
-- options: extension-versions
-- before
CREATE EXTENSION pg_trgm VERSION '1.5';
-- after
CREATE EXTENSION pg_trgm VERSION '1.6';
