-- A partition's bounds change: detached and attached again.
-- before
CREATE TABLE m (k int) PARTITION BY LIST (k);
CREATE TABLE m_small PARTITION OF m FOR VALUES IN (1, 2);
-- after
CREATE TABLE m (k int) PARTITION BY LIST (k);
CREATE TABLE m_small PARTITION OF m FOR VALUES IN (1, 2, 3);
