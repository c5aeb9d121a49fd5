-- A generated expression changes: the column is dropped and added again.
-- before
CREATE TABLE items (price numeric, qty int, total numeric GENERATED ALWAYS AS (price * qty) STORED);
-- after
CREATE TABLE items (price numeric, qty int, total numeric GENERATED ALWAYS AS (price * qty * 1.1) STORED);
