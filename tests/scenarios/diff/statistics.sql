-- Extended statistics: created, dropped, re-created when their definition changes, their target and comment altered; dropped before a table that goes.
-- before
CREATE SCHEMA stats;
CREATE TABLE t (id int, a int, b int, name text);
CREATE TABLE gone (x int, y int);
CREATE STATISTICS t_ab ON a, b FROM t;
CREATE STATISTICS t_old (dependencies) ON a, b FROM t;
CREATE STATISTICS t_kinds (ndistinct) ON a, id FROM t;
CREATE STATISTICS stats.t_target ON id, b FROM t;
CREATE STATISTICS gone_xy ON x, y FROM gone;
-- after
CREATE SCHEMA stats;
CREATE TABLE t (id int, a int, b int, name text);
CREATE STATISTICS t_ab ON a, b FROM t;
COMMENT ON STATISTICS t_ab IS 'correlated columns';
CREATE STATISTICS t_kinds (ndistinct, mcv) ON a, id FROM t;
CREATE STATISTICS stats.t_target ON id, b FROM t;
ALTER STATISTICS stats.t_target SET STATISTICS 500;
CREATE STATISTICS t_expr ON (lower(name)), id FROM t;
