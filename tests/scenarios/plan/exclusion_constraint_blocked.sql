-- An exclusion constraint has no online path: a blocker on a large table.
-- facts: public.bookings rows=5000000 bytes=600000000
-- before
CREATE TABLE bookings (id bigint PRIMARY KEY, room int, during tsrange);
-- after
CREATE TABLE bookings (id bigint PRIMARY KEY, room int, during tsrange, CONSTRAINT no_overlap EXCLUDE USING gist (during WITH &&));
