-- lint: pg_version=19
-- flagged on PostgreSQL 19: CLUSTER in any form, VACUUM FULL
CLUSTER users USING users_pkey;
CLUSTER;
VACUUM FULL users;
VACUUM (FULL, VERBOSE) orders;
-- not flagged: (FULL FALSE), plain VACUUM, ANALYZE, FREEZE
VACUUM (FULL FALSE) users;
VACUUM users;
VACUUM ANALYZE users;
VACUUM FREEZE users;
