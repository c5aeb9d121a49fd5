-- A generated column becomes a plain column and keeps its values.
-- before
CREATE TABLE items (price numeric, qty int, total numeric GENERATED ALWAYS AS (price * qty) STORED);
-- after
CREATE TABLE items (price numeric, qty int, total numeric);
