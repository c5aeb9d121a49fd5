-- On a small table SET NOT NULL runs directly: the scan under lock takes milliseconds.
-- facts: public.settings rows=40 bytes=8192
-- before
CREATE TABLE settings (key text PRIMARY KEY, value text);
-- data
INSERT INTO settings VALUES ('a', '1'), ('b', '2');
-- after
CREATE TABLE settings (key text PRIMARY KEY, value text NOT NULL);
