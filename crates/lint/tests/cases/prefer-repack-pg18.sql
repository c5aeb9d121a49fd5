-- lint: pg_version=18
-- not flagged by prefer-repack: PostgreSQL 18 has no REPACK
CLUSTER users USING users_pkey;
VACUUM FULL users;
