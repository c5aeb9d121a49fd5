SET lock_timeout = '2s';
SET statement_timeout = '5min';
-- flagged: volatile functions
ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();
ALTER TABLE users ADD COLUMN seen timestamptz DEFAULT clock_timestamp();
ALTER TABLE users ADD COLUMN lucky boolean DEFAULT random() > 0.5;
-- flagged: unknown function or signature
ALTER TABLE users ADD COLUMN data jsonb DEFAULT myjsonb();
ALTER TABLE users ADD COLUMN at timestamptz DEFAULT now(123);
-- not flagged: literals, casts, arrays, operators, STABLE built-ins
ALTER TABLE users ADD COLUMN status text NOT NULL DEFAULT 'active';
ALTER TABLE users ADD COLUMN tags text[] DEFAULT array['a', 'b']::text[];
ALTER TABLE users ADD COLUMN joined timestamptz DEFAULT now();
ALTER TABLE users ADD COLUMN since timestamptz DEFAULT now() - interval '100 years';
ALTER TABLE users ADD COLUMN created timestamptz DEFAULT current_timestamp;
ALTER TABLE users ADD COLUMN meta jsonb DEFAULT jsonb_build_object('v', 1);
-- not flagged: SET DEFAULT only affects new rows
ALTER TABLE users ALTER COLUMN token SET DEFAULT gen_random_uuid();
-- not flagged: new table
CREATE TABLE fresh (id bigint);
ALTER TABLE fresh ADD COLUMN token uuid DEFAULT gen_random_uuid();
