//! Lock tracing: what PostgreSQL really locks for each statement of a migration, read from
//! `pg_locks` inside a transaction that is then rolled back. The statement is then run for
//! real (committed) on the same scratch database, so the next statement sees its effect.
//! Only ever used on a scratch database.

use cutover_plan::locks::LockMode;
use tokio_postgres::Client;

use crate::Error;

/// The locks one statement took on relations (tables, indexes, sequences) outside the
/// system catalogs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Traced {
    /// `(schema.relation, relkind, mode)`, strongest first per relation.
    pub locks: Vec<(String, char, LockMode)>,
    /// The statement cannot run in a transaction block (CONCURRENTLY and friends), so its
    /// locks were not traced.
    pub untraceable: bool,
    /// PostgreSQL's error when the statement failed.
    pub error: Option<String>,
}

impl Traced {
    /// The strongest lock on an ordinary or partitioned table, optionally a named one.
    pub fn table_lock(&self, table: Option<&str>) -> Option<LockMode> {
        self.locks
            .iter()
            .filter(|(name, kind, _)| matches!(kind, 'r' | 'p') && table.is_none_or(|t| t == name))
            .map(|(_, _, mode)| *mode)
            .max()
    }
}

/// User relations by OID, read in the statement's transaction before and after it runs: a
/// relation the statement drops is gone from `pg_class` afterwards but still locked.
const RELATIONS: &str = "SELECT c.oid::bigint, n.nspname || '.' || c.relname, c.relkind::text
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'";

const LOCKS: &str = "SELECT relation::bigint, mode FROM pg_locks
WHERE pid = pg_backend_pid() AND locktype = 'relation' AND granted AND relation IS NOT NULL";

/// Traces `statement` on `client` (a scratch database), then runs it for real.
pub async fn trace(client: &Client, statement: &str) -> Result<Traced, Error> {
    let upper = statement.to_ascii_uppercase();
    let untraceable = upper.contains("CONCURRENTLY")
        || upper.starts_with("VACUUM")
        || upper.starts_with("CREATE DATABASE")
        || upper.starts_with("DROP DATABASE")
        || (upper.starts_with("ALTER TYPE") && upper.contains("ADD VALUE"));
    let mut traced = Traced { locks: Vec::new(), untraceable, error: None };
    if !untraceable {
        client.batch_execute("BEGIN").await.map_err(|e| Error::query("BEGIN", e))?;
        client.batch_execute("SET LOCAL lock_timeout = '5s'").await.map_err(|e| Error::query("SET", e))?;
        let mut relations = std::collections::HashMap::new();
        for row in client.query(RELATIONS, &[]).await.map_err(|e| Error::query("reading pg_class", e))? {
            relations.insert(row.get::<_, i64>(0), (row.get::<_, String>(1), row.get::<_, String>(2)));
        }
        match client.batch_execute(statement).await {
            Ok(()) => {
                for row in client.query(RELATIONS, &[]).await.map_err(|e| Error::query("reading pg_class", e))? {
                    relations.entry(row.get::<_, i64>(0)).or_insert((row.get(1), row.get(2)));
                }
                let rows = client.query(LOCKS, &[]).await.map_err(|e| Error::query("reading pg_locks", e))?;
                for row in rows {
                    let (oid, mode): (i64, String) = (row.get(0), row.get(1));
                    if let (Some((name, kind)), Some(mode)) = (relations.get(&oid), parse_mode(&mode)) {
                        traced.locks.push((name.clone(), kind.chars().next().unwrap_or('?'), mode));
                    }
                }
                traced.locks.sort_by(|a, b| a.0.cmp(&b.0).then(b.2.cmp(&a.2)));
                traced.locks.dedup_by(|a, b| a.0 == b.0);
            }
            Err(e) => traced.error = Some(crate::error::describe(&e)),
        }
        client.batch_execute("ROLLBACK").await.map_err(|e| Error::query("ROLLBACK", e))?;
    }
    if traced.error.is_none()
        && let Err(e) = client.batch_execute(statement).await
    {
        traced.error = Some(crate::error::describe(&e));
    }
    Ok(traced)
}

fn parse_mode(mode: &str) -> Option<LockMode> {
    Some(match mode {
        "AccessShareLock" => LockMode::AccessShare,
        "RowShareLock" => LockMode::RowShare,
        "RowExclusiveLock" => LockMode::RowExclusive,
        "ShareUpdateExclusiveLock" => LockMode::ShareUpdateExclusive,
        "ShareLock" => LockMode::Share,
        "ShareRowExclusiveLock" => LockMode::ShareRowExclusive,
        "ExclusiveLock" => LockMode::Exclusive,
        "AccessExclusiveLock" => LockMode::AccessExclusive,
        _ => return None,
    })
}
