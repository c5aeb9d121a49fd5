-- Keys and foreign keys in every form PostgreSQL prints: quoted and keyword names, other schemas, INCLUDE, NULLS NOT DISTINCT, MATCH FULL, all actions, SET NULL column lists, deferral, NOT VALID.
-- before
CREATE SCHEMA "Billing";
CREATE TABLE "Billing"."Account" ("Id" int, "user" text, region text, note text,
  CONSTRAINT "Account_pk" PRIMARY KEY ("Id", region) INCLUDE (note));
CREATE TABLE public.orders (id int PRIMARY KEY, "order" int, account_id int, account_region text, "select" int,
  CONSTRAINT orders_account_fk FOREIGN KEY (account_id, account_region) REFERENCES "Billing"."Account" ("Id", region) MATCH FULL);
-- after
CREATE SCHEMA "Billing";
CREATE TABLE "Billing"."Account" ("Id" int, "user" text, region text, note text,
  CONSTRAINT "Account_pk" PRIMARY KEY ("Id", region) INCLUDE (note, "user"),
  CONSTRAINT account_user_key UNIQUE NULLS NOT DISTINCT ("user") DEFERRABLE);
CREATE TABLE public.orders (id int PRIMARY KEY, "order" int, account_id int, account_region text, "select" int,
  CONSTRAINT orders_order_key UNIQUE ("order", "select") INCLUDE (id) DEFERRABLE INITIALLY DEFERRED,
  CONSTRAINT "orders_Order_key" UNIQUE ("order"),
  CONSTRAINT orders_account_fk FOREIGN KEY (account_id, account_region) REFERENCES "Billing"."Account" ("Id", region)
    MATCH FULL ON UPDATE CASCADE ON DELETE SET NULL (account_id) DEFERRABLE);
CREATE TABLE "Line Items" (id int, order_id int, "order" int,
  CONSTRAINT "Line Items_pkey" PRIMARY KEY (id),
  CONSTRAINT line_order_fk FOREIGN KEY (order_id) REFERENCES public.orders (id) ON UPDATE RESTRICT ON DELETE SET DEFAULT,
  CONSTRAINT line_order_key_fk FOREIGN KEY ("order") REFERENCES public.orders ("order") ON DELETE NO ACTION INITIALLY DEFERRED NOT VALID);
