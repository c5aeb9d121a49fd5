-- Issue 10: a table and trigger whose names spell " ON other_table", and a column whose name holds the sync function's dollar-quote tag; the trigger's table comes from the catalog, the tag is one its body does not contain.
-- before
CREATE TABLE "orders ON public.x" (id bigint PRIMARY KEY, "qty$cutover$" integer NOT NULL DEFAULT 1, updated_at timestamptz);
-- data
INSERT INTO "orders ON public.x" SELECT g, g % 50, now() FROM generate_series(1, 3000) g;
-- after
CREATE TABLE "orders ON public.x" (id bigint PRIMARY KEY, "qty$cutover$" bigint NOT NULL DEFAULT 1, updated_at timestamptz);
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;
CREATE TRIGGER "t ON public.y FOR" BEFORE UPDATE ON "orders ON public.x" FOR EACH ROW EXECUTE FUNCTION touch();
-- old queries
INSERT INTO "orders ON public.x" (id) VALUES (90000001);
UPDATE "orders ON public.x" SET "qty$cutover$" = 3 WHERE id = 1;
-- new queries from switch
INSERT INTO "orders ON public.x" (id, "qty$cutover$") VALUES (90000002, 5000000000);
