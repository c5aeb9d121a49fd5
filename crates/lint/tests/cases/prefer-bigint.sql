-- flagged: integer, int, int4, smallint, int2, serial, smallserial (arrays too)
CREATE TABLE orders (id serial, quantity integer, line int2, codes int[]);
ALTER TABLE users ADD COLUMN login_count smallint;
ALTER TABLE users ALTER COLUMN age TYPE int4;
-- not flagged: bigint, int8, bigserial, numeric
CREATE TABLE ledger (id bigserial, amount bigint, other int8, total numeric(12, 2));
