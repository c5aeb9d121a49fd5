//! The statements that make a scratch database a sandbox for SQL written by someone else
//! (a Linear issue's proposed changes): the unprivileged role the SQL runs as, the transfer
//! of the recreated schema to it, and the guard that keeps `CREATE EXTENSION` to an
//! allow-list. Names and values are quoted here; the server-side loops quote what they read
//! from the catalog with `format('%I')` and the `reg*` types' output.

use crate::quote::{ident, literal};

/// The settings a sandbox role runs under. `statement_timeout` and `lock_timeout` are the
/// role's defaults (the SQL may change them; the caller's deadline is the hard bound);
/// `temp_file_limit` can only be changed by a superuser, so it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleLimits {
    pub statement_timeout_ms: u64,
    pub lock_timeout_ms: u64,
    pub temp_file_limit_kb: u64,
}

/// `CREATE ROLE` for the role request SQL runs as: it may log in (with `password`) and
/// nothing else: no superuser, no roles, no databases, no replication, no bypassing
/// row-level security, and it is a member of no role.
pub fn create_role(name: &str, password: &str) -> String {
    format!(
        "CREATE ROLE {} LOGIN PASSWORD {} NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT CONNECTION LIMIT 4",
        ident(name),
        literal(password)
    )
}

/// The role's defaults, one statement each (`ALTER ROLE ... SET` takes one setting).
/// `temp_file_limit` needs a superuser to set; `superuser` says whether the caller is one.
pub fn role_settings(name: &str, limits: &RoleLimits, superuser: bool) -> Vec<String> {
    let mut out = vec![
        format!("ALTER ROLE {} SET statement_timeout = {}", ident(name), limits.statement_timeout_ms),
        format!("ALTER ROLE {} SET lock_timeout = {}", ident(name), limits.lock_timeout_ms),
        format!("ALTER ROLE {} SET idle_in_transaction_session_timeout = {}", ident(name), limits.statement_timeout_ms),
    ];
    if superuser {
        out.push(format!("ALTER ROLE {} SET temp_file_limit = {}", ident(name), limits.temp_file_limit_kb));
    }
    out
}

/// Ends the role's sessions (a request may have left one).
pub fn terminate_sessions_of(role: &str) -> String {
    format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = {} AND pid <> pg_backend_pid()",
        literal(role)
    )
}

/// What every sandbox role's name starts with; the unix time it was made follows.
pub const ROLE_PREFIX: &str = "cutover_sandbox_";

/// A query (parameter `$1`: unix seconds, `bigint`) listing the sandbox roles made before
/// then, each with the databases it owns: `(role, databases text[])`.
pub const ABANDONED_ROLES: &str = "SELECT r.rolname::text,
       ARRAY(SELECT d.datname::text FROM pg_catalog.pg_database d WHERE d.datdba = r.oid ORDER BY 1)
FROM pg_catalog.pg_roles r
WHERE r.rolname ~ '^cutover_sandbox_[0-9]+_'
  AND NOT r.rolsuper
  AND split_part(substr(r.rolname, length('cutover_sandbox_') + 1), '_', 1)::bigint < $1
ORDER BY 1";

/// Drops a scratch database (its sessions ended first).
pub fn drop_database(name: &str) -> String {
    format!("DROP DATABASE IF EXISTS {}", ident(name))
}

/// Drops the role once its scratch database is gone (it can own nothing else).
pub fn drop_role(name: &str) -> String {
    format!("DROP ROLE IF EXISTS {}", ident(name))
}

/// `SET ROLE`, for creating an object as the sandbox role from the admin session.
pub fn set_role(name: &str) -> String {
    format!("SET ROLE {}", ident(name))
}

pub const RESET_ROLE: &str = "RESET ROLE";

/// Makes the role the owner of the scratch database (and so of its `public` schema).
pub fn database_owner(database: &str, role: &str) -> String {
    format!("ALTER DATABASE {} OWNER TO {}", ident(database), ident(role))
}

/// Only the owner (and superusers) may connect to the scratch database.
pub fn revoke_connect(database: &str) -> String {
    format!("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC", ident(database))
}

/// A query (parameter `$1`: the allowed extensions, `text[]`) returning one `REVOKE` per
/// routine of an installed extension that is not allowed: such an extension may be in the
/// live schema (`dblink`, say), and its routines stay out of the sandbox role's reach. The
/// statements name routines by `regprocedure`, which the server quotes.
pub const REVOKE_FUNCTIONS_OF_OTHER_EXTENSIONS: &str =
    "SELECT pg_catalog.format('REVOKE EXECUTE ON ROUTINE %s FROM PUBLIC', p.oid::pg_catalog.regprocedure)
FROM pg_catalog.pg_depend d
JOIN pg_catalog.pg_extension e ON d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND d.refobjid = e.oid
JOIN pg_catalog.pg_proc p ON d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.objid = p.oid
WHERE d.deptype = 'e' AND e.extname <> 'plpgsql' AND NOT (e.extname = ANY ($1::text[]))
ORDER BY 1";

/// Makes the role named by the setting `cutover.sandbox_role` (set by the caller with
/// `set_config`, a bind parameter) the owner of the current database and of every object in
/// it that is not a system object or an extension's member: schemas, tables, views,
/// materialized views, foreign tables, sequences not owned by a column (those follow their
/// table), enum, range, composite and domain types, routines, collations and extended
/// statistics. Run as the admin after the live schema has been recreated.
pub const TRANSFER_OWNERSHIP: &str = r#"DO $cutover_sandbox$
DECLARE
  owner text := current_setting('cutover.sandbox_role');
  r record;
BEGIN
  EXECUTE format('ALTER DATABASE %I OWNER TO %I', current_database(), owner);
  FOR r IN
    SELECT n.oid FROM pg_catalog.pg_namespace n
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
      AND n.nspname NOT LIKE 'pg\_temp\_%' AND n.nspname NOT LIKE 'pg\_toast\_temp\_%'
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                      WHERE d.classid = 'pg_catalog.pg_namespace'::pg_catalog.regclass AND d.objid = n.oid AND d.deptype = 'e')
  LOOP
    EXECUTE format('ALTER SCHEMA %s OWNER TO %I', r.oid::pg_catalog.regnamespace, owner);
  END LOOP;
  FOR r IN
    SELECT c.oid, c.relkind FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%'
      AND n.nspname NOT LIKE 'pg\_temp\_%'
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                      WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid AND d.deptype = 'e')
      AND NOT (c.relkind = 'S' AND EXISTS (
                 SELECT 1 FROM pg_catalog.pg_depend d
                 WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid
                   AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype IN ('a', 'i')))
  LOOP
    EXECUTE format('ALTER %s %s OWNER TO %I',
      CASE r.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                     WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
      r.oid::pg_catalog.regclass, owner);
  END LOOP;
  FOR r IN
    SELECT t.oid, t.typtype FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%'
      AND (t.typtype IN ('e', 'r', 'd')
           OR (t.typtype = 'c' AND EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid AND c.relkind = 'c')))
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                      WHERE d.classid = 'pg_catalog.pg_type'::pg_catalog.regclass AND d.objid = t.oid AND d.deptype = 'e')
  LOOP
    EXECUTE format('ALTER %s %s OWNER TO %I', CASE r.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END,
                   r.oid::pg_catalog.regtype, owner);
  END LOOP;
  FOR r IN
    SELECT p.oid FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                      WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.objid = p.oid AND d.deptype = 'e')
  LOOP
    EXECUTE format('ALTER ROUTINE %s OWNER TO %I', r.oid::pg_catalog.regprocedure, owner);
  END LOOP;
  FOR r IN
    SELECT n.nspname, c.collname FROM pg_catalog.pg_collation c JOIN pg_catalog.pg_namespace n ON n.oid = c.collnamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                      WHERE d.classid = 'pg_catalog.pg_collation'::pg_catalog.regclass AND d.objid = c.oid AND d.deptype = 'e')
  LOOP
    EXECUTE format('ALTER COLLATION %I.%I OWNER TO %I', r.nspname, r.collname, owner);
  END LOOP;
  FOR r IN
    SELECT n.nspname, s.stxname FROM pg_catalog.pg_statistic_ext s JOIN pg_catalog.pg_namespace n ON n.oid = s.stxnamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  LOOP
    EXECUTE format('ALTER STATISTICS %I.%I OWNER TO %I', r.nspname, r.stxname, owner);
  END LOOP;
END
$cutover_sandbox$"#;

/// The function and event trigger that refuse `CREATE EXTENSION` of anything outside
/// `allowed`, however the statement is reached (directly, or through `DO` and `EXECUTE`).
/// Created by the admin, so the sandbox role can neither drop nor disable them. Two
/// statements.
pub fn extension_guard(allowed: &[String]) -> [String; 2] {
    let list = if allowed.is_empty() {
        "ARRAY[]::text[]".to_string()
    } else {
        format!("ARRAY[{}]::text[]", allowed.iter().map(|a| literal(a)).collect::<Vec<_>>().join(", "))
    };
    let allowed_text = literal(&if allowed.is_empty() { "none".to_string() } else { allowed.join(", ") });
    let body = format!(
        r#"
DECLARE
  r record;
  name text;
BEGIN
  FOR r IN SELECT objid FROM pg_catalog.pg_event_trigger_ddl_commands() WHERE object_type = 'extension' AND command_tag = 'CREATE EXTENSION' LOOP
    SELECT extname INTO name FROM pg_catalog.pg_extension WHERE oid = r.objid;
    IF NOT name = ANY ({list}) THEN
      RAISE EXCEPTION 'extension "%" is not allowed on the scratch server', name
        USING HINT = 'Allowed extensions: ' || {allowed_text} || '.', ERRCODE = 'insufficient_privilege';
    END IF;
  END LOOP;
END
"#
    );
    [
        format!(
            "CREATE FUNCTION pg_catalog.cutover_extension_guard() RETURNS event_trigger LANGUAGE plpgsql AS {}",
            dollar_quoted(&body)
        ),
        "CREATE EVENT TRIGGER cutover_extension_guard ON ddl_command_end WHEN TAG IN ('CREATE EXTENSION') EXECUTE FUNCTION pg_catalog.cutover_extension_guard()".to_string(),
    ]
}

/// `body` between dollar quotes whose tag does not occur in it.
fn dollar_quoted(body: &str) -> String {
    let tag = crate::ddl::dollar_tag(body);
    format!("{tag}{body}{tag}")
}

/// The extensions that can be created by a role that is not a superuser on PostgreSQL 13
/// and later (`trusted = true` in their control files) and that ship with PostgreSQL's
/// contrib: the default allow-list of a sandbox. None of them reads files, runs programs
/// or opens connections.
pub const TRUSTED_CONTRIB_EXTENSIONS: &[&str] = &[
    "btree_gin",
    "btree_gist",
    "citext",
    "cube",
    "dict_int",
    "fuzzystrmatch",
    "hstore",
    "intarray",
    "isn",
    "lo",
    "ltree",
    "pg_trgm",
    "pgcrypto",
    "plpgsql",
    "seg",
    "tablefunc",
    "tcn",
    "tsm_system_rows",
    "tsm_system_time",
    "unaccent",
    "uuid-ossp",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_values_are_quoted() {
        assert_eq!(
            create_role("req\"; DROP", "p'w"),
            "CREATE ROLE \"req\"\"; DROP\" LOGIN PASSWORD 'p''w' NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT CONNECTION LIMIT 4"
        );
        assert_eq!(drop_role("Req"), "DROP ROLE IF EXISTS \"Req\"");
        let [function, _] = extension_guard(&["a'b".to_string()]);
        assert!(function.contains("ARRAY['a''b']::text[]"), "{function}");
    }

    #[test]
    fn the_body_tag_never_occurs_in_the_body() {
        let [function, _] = extension_guard(&["$cutover$".to_string(), "$cutover_1$".to_string()]);
        assert!(function.contains("AS $cutover_2$\nDECLARE"), "{function}");
        assert!(function.ends_with("$cutover_2$"), "{function}");
        assert_eq!(function.matches("$cutover_2$").count(), 2);
    }
}
