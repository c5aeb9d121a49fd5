//! Where SQL written by someone else runs: the proposed changes of a Linear issue, or the
//! schema files a request names in a repository.
//!
//! A sandbox is a scratch database on the dev server with a role of its own:
//! 1. the live schema (trusted: it is the team's own) is recreated by the admin;
//! 2. a fresh role that may only log in (no superuser, roles, databases, replication or
//!    row-level-security bypass, member of nothing, so none of `pg_read_server_files`,
//!    `pg_write_server_files`, `pg_execute_server_program`, `pg_signal_backend`) is made the
//!    owner of the database and of every object in it that is not an extension's;
//! 3. `CREATE EXTENSION` is held to an allow-list by an event trigger the role cannot touch,
//!    and the functions of extensions outside the list that the live schema has (`dblink`,
//!    say) are not executable by it;
//! 4. the SQL runs as that role over its own connection, statement by statement, each under
//!    the role's `statement_timeout` and a hard limit enforced here (a statement that
//!    catches its own cancellation is ended with its session); the whole job has a deadline;
//! 5. the result is read back by the admin, and the database and the role are dropped, on
//!    every path, also when the caller gives up on the future.
//!
//! Materialized views of the live schema are recreated `WITH NO DATA` (their queries never
//! run here); the catalog read back keeps the live database's populated state for them.

use crate::Error;
use crate::connect::Target;
use crate::introspect::{IntrospectOptions, introspect};
use crate::scratch::{DevServer, ScratchDb};
use crate::source::statement_error;
use cutover_plan::DiffOptions;
use cutover_schema::Catalog;
use cutover_sql::ddl::Stmt;
use cutover_sql::sandbox as sql;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use tokio::time::Instant;
use tokio_postgres::Client;

/// What SQL in a sandbox may do and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxPolicy {
    /// The longest one statement may run.
    pub statement_timeout: Duration,
    /// How long a statement may wait for a lock.
    pub lock_timeout: Duration,
    /// The most temporary file space one session may use.
    pub temp_file_limit_kb: u64,
    /// The extensions the SQL may create.
    pub extensions: Vec<String>,
}

impl Default for SandboxPolicy {
    fn default() -> Self {
        SandboxPolicy {
            statement_timeout: Duration::from_secs(10),
            lock_timeout: Duration::from_secs(5),
            temp_file_limit_kb: 1024 * 1024,
            extensions: sql::TRUSTED_CONTRIB_EXTENSIONS.iter().map(|e| e.to_string()).collect(),
        }
    }
}

/// One piece of SQL to apply: where it came from (for error positions) and its text.
#[derive(Debug, Clone)]
pub struct SqlText {
    pub label: PathBuf,
    pub text: String,
}

/// Applies `sql` as an unprivileged role to a scratch copy of `current` (an empty database
/// when `None`) and reads the result back. Errors name the label, line and column of the
/// failing statement. Gives up with [`Error::OutOfTime`] at `deadline`.
pub async fn apply(
    dev: &DevServer,
    current: Option<&Catalog>,
    sql: &[SqlText],
    policy: &SandboxPolicy,
    options: &DiffOptions,
    deadline: Instant,
) -> Result<Catalog, Error> {
    let scratch = in_time(deadline, dev.create_scratch()).await??;
    let role = role_name();
    let password = crate::cluster::random_secret()?;
    let mut guard = Cleanup { scratch: Some(scratch), role: role.clone(), created_role: false };
    let result = run(&mut guard, current, sql, policy, options, &password, deadline).await;
    let cleaned = guard.run().await;
    let catalog = result?;
    cleaned?;
    Ok(catalog)
}

async fn run(
    guard: &mut Cleanup,
    current: Option<&Catalog>,
    sql: &[SqlText],
    policy: &SandboxPolicy,
    options: &DiffOptions,
    password: &str,
    deadline: Instant,
) -> Result<Catalog, Error> {
    let scratch = guard.scratch.as_ref().expect("the scratch database");
    let role = guard.role.clone();
    let admin = in_time(deadline, scratch.connect()).await??;
    let superuser: bool = admin
        .query_one("SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user", &[])
        .await
        .map_err(|e| Error::query("checking the dev server's user", e))?
        .get(0);
    let setup = |what: &'static str| move |e| Error::query(format!("preparing the sandbox ({what})"), e);

    remove_abandoned(&admin).await;
    admin.batch_execute(&sql::create_role(&role, password)).await.map_err(setup("creating its role"))?;
    guard.created_role = true;
    let limits = sql::RoleLimits {
        statement_timeout_ms: policy.statement_timeout.as_millis() as u64,
        lock_timeout_ms: policy.lock_timeout.as_millis() as u64,
        temp_file_limit_kb: policy.temp_file_limit_kb,
    };
    for statement in sql::role_settings(&role, &limits, superuser) {
        admin.batch_execute(&statement).await.map_err(setup("limiting its role"))?;
    }
    admin.batch_execute(&sql::database_owner(&scratch.name, &role)).await.map_err(setup("handing it the database"))?;
    admin.batch_execute(&sql::revoke_connect(&scratch.name)).await.map_err(setup("closing the database"))?;

    if let Some(current) = current {
        let trusted = trusted_extensions(&admin).await?;
        let mut unpopulated = current.clone();
        for view in unpopulated.views.values_mut().filter(|v| v.materialized) {
            view.populated = false;
        }
        for change in crate::validate::recreation(&admin, &unpopulated, options).await? {
            let text = change.sql();
            // An allowed, trusted extension is created by the role itself, so the request
            // may drop or alter it; others stay the admin's.
            // (When the role may not create it where it goes, the admin does.)
            let as_role = matches!(&change.stmt, Stmt::CreateExtension { name, .. }
                if trusted.contains(name) && policy.extensions.contains(name));
            if as_role {
                let text = format!("{};\n{text};\n{}", sql::set_role(&role), sql::RESET_ROLE);
                if in_time(deadline, admin.batch_execute(&text)).await?.is_ok() {
                    continue;
                }
            }
            in_time(deadline, admin.batch_execute(&text))
                .await?
                .map_err(|e| Error::query(format!("recreating the current schema with `{text}`"), e))?;
        }
    }
    admin
        .query("SELECT pg_catalog.set_config('cutover.sandbox_role', $1, false)", &[&role])
        .await
        .map_err(setup("naming its role"))?;
    in_time(deadline, admin.batch_execute(sql::TRANSFER_OWNERSHIP)).await?.map_err(setup("handing it the schema"))?;
    let revokes: Vec<String> = admin
        .query(sql::REVOKE_FUNCTIONS_OF_OTHER_EXTENSIONS, &[&policy.extensions])
        .await
        .map_err(setup("listing extension functions"))?
        .iter()
        .map(|row| row.get(0))
        .collect();
    for revoke in revokes {
        admin.batch_execute(&revoke).await.map_err(setup("closing extension functions"))?;
    }
    if superuser {
        for statement in sql::extension_guard(&policy.extensions) {
            admin.batch_execute(&statement).await.map_err(setup("guarding extensions"))?;
        }
    }

    let target = scratch.target.as_user(&role, password);
    let client = in_time(deadline, target.connect()).await??;
    for source in sql {
        apply_as_role(&client, &admin, &role, source, policy, deadline).await?;
    }
    drop(client);
    // Nothing the request started may still run while its result is read.
    admin.batch_execute(&sql::terminate_sessions_of(&role)).await.map_err(setup("ending its sessions"))?;
    let mut catalog = in_time(deadline, introspect(&admin, &IntrospectOptions::default())).await??;
    if let Some(current) = current {
        keep_populated_state(&mut catalog, current);
    }
    Ok(catalog)
}

/// Runs one source statement by statement. Each statement gets the policy's time (or what
/// is left before the deadline, if less); one that outlives it is ended with its session.
async fn apply_as_role(
    client: &Client,
    admin: &Client,
    role: &str,
    source: &SqlText,
    policy: &SandboxPolicy,
    deadline: Instant,
) -> Result<(), Error> {
    // The server's own statement_timeout fires first; this catches a statement that
    // swallows the cancellation (a PL/pgSQL handler for query_canceled).
    let grace = Duration::from_secs(2);
    for stmt in cutover_sql::split::split(&source.text) {
        let now = Instant::now();
        if now >= deadline {
            return Err(Error::OutOfTime);
        }
        let limit = (policy.statement_timeout + grace).min(deadline - now);
        match tokio::time::timeout(limit, client.batch_execute(stmt.text)).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => {
                // Only the statement timeout cancels the role's statements (the role may
                // not signal other sessions, and Cutover ends rather than cancels them).
                if err.code() == Some(&tokio_postgres::error::SqlState::QUERY_CANCELED) {
                    return Err(Error::StatementTimeout {
                        path: source.label.clone(),
                        line: stmt.line,
                        column: stmt.column,
                        limit: policy.statement_timeout,
                    });
                }
                return Err(statement_error(&source.label, &stmt, &err));
            }
            Err(_) => {
                let _ = admin.batch_execute(&sql::terminate_sessions_of(role)).await;
                if Instant::now() >= deadline {
                    return Err(Error::OutOfTime);
                }
                return Err(Error::StatementTimeout {
                    path: source.label.clone(),
                    line: stmt.line,
                    column: stmt.column,
                    limit: policy.statement_timeout,
                });
            }
        }
    }
    Ok(())
}

/// A materialized view recreated `WITH NO DATA` reads back as not populated; where the
/// request left it as it was, it is as populated as in the live database.
fn keep_populated_state(catalog: &mut Catalog, current: &Catalog) {
    for (name, view) in catalog.views.iter_mut().filter(|(_, v)| v.materialized && !v.populated) {
        if let Some(live) = current.views.get(name)
            && live.materialized
            && live.definition == view.definition
        {
            view.populated = live.populated;
        }
    }
}

/// The extensions a role without superuser may create on this server (PostgreSQL 13+).
async fn trusted_extensions(admin: &Client) -> Result<Vec<String>, Error> {
    let version: i32 = admin
        .query_one("SELECT pg_catalog.current_setting('server_version_num')::int", &[])
        .await
        .map_err(|e| Error::query("reading the dev server's version", e))?
        .get(0);
    if version < 130000 {
        return Ok(Vec::new());
    }
    Ok(admin
        .query("SELECT DISTINCT name::text FROM pg_catalog.pg_available_extension_versions WHERE trusted", &[])
        .await
        .map_err(|e| Error::query("listing trusted extensions", e))?
        .iter()
        .map(|row| row.get(0))
        .collect())
}

/// `future`, unless the deadline comes first.
async fn in_time<T>(deadline: Instant, future: impl Future<Output = T>) -> Result<T, Error> {
    tokio::time::timeout_at(deadline, future).await.map_err(|_| Error::OutOfTime)
}

/// `cutover_sandbox_<unix seconds>_<pid>_<n>_<nanos>`: unique, and dated, so that the
/// leftovers of a process killed mid-request can be told from a request running now.
fn role_name() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    format!(
        "{}{}_{}_{}_{:08x}",
        sql::ROLE_PREFIX,
        now.as_secs(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        now.subsec_nanos()
    )
}

/// Sandboxes older than this are leftovers of a process that was killed mid-request (no
/// planning budget comes near it); the next sandbox on the same server removes them.
const ABANDONED_AFTER: Duration = Duration::from_secs(24 * 3600);

/// Drops the roles of sandboxes started more than [`ABANDONED_AFTER`] ago, with the scratch
/// databases they own. Best effort: a failure leaves them for the next time.
async fn remove_abandoned(admin: &Client) {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let before = now.saturating_sub(ABANDONED_AFTER).as_secs() as i64;
    let Ok(rows) = admin.query(sql::ABANDONED_ROLES, &[&before]).await else { return };
    for row in rows {
        let role: String = row.get(0);
        let databases: Vec<String> = row.get(1);
        let _ = admin.batch_execute(&sql::terminate_sessions_of(&role)).await;
        for database in databases {
            let _ = admin.batch_execute(&sql::drop_database(&database)).await;
        }
        let _ = admin.batch_execute(&sql::drop_role(&role)).await;
    }
}

/// Drops the scratch database and the role: awaited on every normal path, and spawned
/// from `Drop` when the caller abandons the future half-way (its own deadline).
struct Cleanup {
    scratch: Option<ScratchDb>,
    role: String,
    created_role: bool,
}

impl Cleanup {
    async fn run(&mut self) -> Result<(), Error> {
        let Some(scratch) = self.scratch.take() else { return Ok(()) };
        let admin = scratch.admin_target().clone();
        let removed = scratch.remove().await;
        if self.created_role {
            self.created_role = false;
            drop_role(&admin, &self.role).await?;
        }
        removed
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if self.scratch.is_none() {
            return;
        }
        let mut rest =
            Cleanup { scratch: self.scratch.take(), role: self.role.clone(), created_role: self.created_role };
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                let _ = rest.run().await;
            });
        }
    }
}

async fn drop_role(admin: &Target, role: &str) -> Result<(), Error> {
    let client = admin.connect().await?;
    client
        .batch_execute(&sql::terminate_sessions_of(role))
        .await
        .map_err(|e| Error::query("ending the sandbox role's sessions", e))?;
    client.batch_execute(&sql::drop_role(role)).await.map_err(|e| Error::query("dropping the sandbox role", e))
}

/// Whether `path` (a file a request names) lies inside `root` once symbolic links and `..`
/// are resolved; the resolved path when it does.
pub fn resolve_inside(root: &Path, path: &str) -> Option<PathBuf> {
    let root = root.canonicalize().ok()?;
    let full = root.join(path).canonicalize().ok()?;
    full.starts_with(&root).then_some(full)
}
