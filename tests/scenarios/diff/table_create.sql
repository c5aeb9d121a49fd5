-- A new table with every kind of column clause.
-- before
-- after
CREATE TABLE orders (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reference text NOT NULL DEFAULT md5(random()::text),
    status text NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'paid', 'shipped')),
    total numeric(12,2),
    total_with_tax numeric(12,2) GENERATED ALWAYS AS (total * 1.2) STORED,
    placed_at timestamptz NOT NULL DEFAULT now(),
    note text COLLATE "C"
);
