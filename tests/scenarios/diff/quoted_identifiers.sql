-- Mixed-case names, reserved words and spaces are quoted wherever they appear.
-- before
-- after
CREATE SCHEMA "Reporting";
CREATE TABLE "Reporting"."Order Lines" ("order" int, "User" text, "select" boolean, "group" text);
CREATE INDEX "Idx Order" ON "Reporting"."Order Lines" ("order");
COMMENT ON COLUMN "Reporting"."Order Lines"."User" IS 'it''s quoted';
