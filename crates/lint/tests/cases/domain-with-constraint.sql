-- flagged: CREATE DOMAIN with CHECK or NOT NULL
CREATE DOMAIN positive_amount AS numeric(15, 5) CHECK (VALUE > 0);
CREATE DOMAIN required_text AS text NOT NULL;
-- flagged: adding a validated constraint to an existing domain
ALTER DOMAIN email_address ADD CONSTRAINT email_has_at CHECK (VALUE LIKE '%@%');
-- not flagged: no constraint, NOT VALID, other ALTER DOMAIN forms
CREATE DOMAIN plain_text AS text;
ALTER DOMAIN email_address ADD CONSTRAINT email_short CHECK (length(VALUE) < 300) NOT VALID;
ALTER DOMAIN email_address VALIDATE CONSTRAINT email_short;
ALTER DOMAIN email_address DROP CONSTRAINT email_has_at;
ALTER DOMAIN email_address RENAME TO email;
-- not flagged: the domain was created earlier in this file
ALTER DOMAIN plain_text ADD CONSTRAINT plain_text_short CHECK (length(VALUE) < 10);
