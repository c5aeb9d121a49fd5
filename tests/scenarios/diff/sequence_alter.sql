-- Sequence options and type change in place.
-- before
CREATE SEQUENCE s AS integer INCREMENT BY 1;
-- after
CREATE SEQUENCE s AS bigint INCREMENT BY 2 CACHE 50;
