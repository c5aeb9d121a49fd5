-- Issue 10: bound values and key columns that spell bound syntax and SQL; bounds are read value by value and rendered back exactly.
-- before
CREATE TABLE r ("k) TO (" text COLLATE "C") PARTITION BY RANGE ("k) TO (");
CREATE TABLE l (k text, "n;DROP TABLE r;--" int) PARTITION BY LIST (k);
CREATE TABLE h (id int) PARTITION BY HASH (id);
CREATE TABLE m (a int, b text COLLATE "C") PARTITION BY RANGE (a, b);
CREATE TABLE "r_two" ("k) TO (" text COLLATE "C");
-- after
CREATE TABLE r ("k) TO (" text COLLATE "C") PARTITION BY RANGE ("k) TO (");
CREATE TABLE "r_one$$" PARTITION OF r FOR VALUES FROM (MINVALUE) TO (') TO (''a');
CREATE TABLE "r_two" PARTITION OF r FOR VALUES FROM (') TO (''a') TO ('z'';DROP TABLE users;--');
CREATE TABLE l (k text, "n;DROP TABLE r;--" int) PARTITION BY LIST (k);
CREATE TABLE l_1 PARTITION OF l FOR VALUES IN ('a'', ''b', 'NULL', NULL, E'back\\slash', '$$', 'new
line');
CREATE TABLE l_default PARTITION OF l DEFAULT;
CREATE TABLE h (id int) PARTITION BY HASH (id);
CREATE TABLE h_0 PARTITION OF h FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE m (a int, b text COLLATE "C") PARTITION BY RANGE (a, b);
CREATE TABLE m_1 PARTITION OF m FOR VALUES FROM (-5, MINVALUE) TO (10, ')');
