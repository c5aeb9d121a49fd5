-- A table whose name holds a quote is renamed: its serial sequence follows, and the column default (a regclass literal, the quote doubled) follows with it, so nothing else changes.
-- facts: public.users'x rows=3000000 bytes=400000000
-- options: rename-table=public.users'x=customers
-- before
CREATE TABLE "users'x" (id bigserial PRIMARY KEY, email text NOT NULL);
-- data
INSERT INTO "users'x" (email) SELECT 'u' || g FROM generate_series(1, 100) g;
-- after
CREATE TABLE customers (id bigserial PRIMARY KEY, email text NOT NULL);
-- old queries
INSERT INTO "users'x" (email) VALUES ('old app');
-- new queries
INSERT INTO customers (email) VALUES ('new app');
