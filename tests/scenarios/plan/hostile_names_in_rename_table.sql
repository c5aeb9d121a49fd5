-- Issue 10: a table rename where a trigger's name, an UPDATE OF column and a WHEN string spell " ON public.users ", and a foreign key column spells "REFERENCES public.users(": only the table reference itself follows the rename, so nothing else changes.
-- facts: public.users rows=3000000 bytes=400000000
-- options: rename-table=public.users=customers
-- before
CREATE TABLE users (id bigint PRIMARY KEY, "c ON public.users " text, note text);
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER "t ON public.users x" BEFORE UPDATE OF "c ON public.users " ON users FOR EACH ROW WHEN (NEW.note <> ' ON public.users ') EXECUTE FUNCTION touch();
CREATE TABLE orders (id bigint PRIMARY KEY, "x REFERENCES public.users(" bigint REFERENCES users (id));
-- data
INSERT INTO users SELECT g, 'c', 'n' FROM generate_series(1, 100) g;
-- after
CREATE TABLE customers (id bigint PRIMARY KEY, "c ON public.users " text, note text);
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER "t ON public.users x" BEFORE UPDATE OF "c ON public.users " ON customers FOR EACH ROW WHEN (NEW.note <> ' ON public.users ') EXECUTE FUNCTION touch();
CREATE TABLE orders (id bigint PRIMARY KEY, "x REFERENCES public.users(" bigint REFERENCES customers (id));
-- old queries
UPDATE users SET note = 'changed' WHERE id = 1;
-- new queries
SELECT count(*) FROM customers;
