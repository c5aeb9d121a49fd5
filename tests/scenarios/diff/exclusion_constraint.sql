-- An exclusion constraint over a range column.
-- before
CREATE TABLE bookings (room int, during tsrange);
-- after
CREATE TABLE bookings (room int, during tsrange, CONSTRAINT no_overlap EXCLUDE USING gist (during WITH &&));
