SET lock_timeout = '2s';
SET statement_timeout = '5min';
-- flagged: no proof
ALTER TABLE users ALTER COLUMN some_column SET NOT NULL;
-- flagged: check added NOT VALID but never validated
ALTER TABLE foo ADD CONSTRAINT bar_not_null CHECK (bar IS NOT NULL) NOT VALID;
ALTER TABLE foo ALTER COLUMN bar SET NOT NULL;
-- not flagged: validated CHECK (col IS NOT NULL)
ALTER TABLE foo VALIDATE CONSTRAINT bar_not_null;
ALTER TABLE foo ALTER COLUMN bar SET NOT NULL;
-- flagged: the validated check is on another column
ALTER TABLE foo ALTER COLUMN qux SET NOT NULL;
-- not flagged: a constraint of an earlier migration, validated in this one
ALTER TABLE baz VALIDATE CONSTRAINT baz_col_not_null;
ALTER TABLE baz ALTER COLUMN col SET NOT NULL;
