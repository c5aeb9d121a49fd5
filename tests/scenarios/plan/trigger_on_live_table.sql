-- A trigger on a live table takes SHARE ROW EXCLUSIVE for a moment; its function comes first.
-- facts: public.orders rows=8000000 bytes=900000000
-- before
CREATE TABLE orders (id bigint PRIMARY KEY, updated_at timestamptz);
-- after
CREATE TABLE orders (id bigint PRIMARY KEY, updated_at timestamptz);
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;
CREATE TRIGGER orders_touch BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION touch();
-- new queries
UPDATE orders SET updated_at = NULL WHERE id = 1;
