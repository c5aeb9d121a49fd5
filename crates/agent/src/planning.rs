//! From a parsed request to a plan: the current schema read from the database being migrated
//! (read-only), the desired schema made by applying the request's SQL (or the schema files a
//! request names in the repository) in a sandbox on the scratch server, then the phased plan.
//!
//! Everything in a request is written by someone else: its SQL runs only in the sandbox
//! (`cutover_db_postgres::sandbox`: an unprivileged role, limited extensions, a time limit
//! per statement), a schema path must lie inside the repository, and the whole job has a
//! time budget after which it stops, drops its scratch database and frees the worker.

use std::path::{Path, PathBuf};
use std::time::Duration;

use cutover_db_postgres::connect::Target;
use cutover_db_postgres::introspect::IntrospectOptions;
use cutover_db_postgres::sandbox::{self, SandboxPolicy, SqlText};
use cutover_db_postgres::scratch::DevServer;
use cutover_db_postgres::source::{SqlSource, collect_sql_files};
use cutover_plan::planner::{self, Plan, PlanOptions};
use cutover_request::{ChangeRequest, Downtime, ProposedChange};
use tokio::time::Instant;

/// Where schemas come from, and the limits on request SQL.
#[derive(Debug, Clone)]
pub struct PlanningConfig {
    /// The database being migrated (`CUTOVER_DATABASE_URL`); only ever read.
    pub database_url: String,
    /// Where scratch databases are made: `--dev-url`, or a throwaway local cluster.
    pub dev: DevServer,
    /// Root for desired-schema paths named in requests; nothing outside it is read.
    pub repo_dir: PathBuf,
    /// What request SQL may do on the scratch server.
    pub sandbox: SandboxPolicy,
    /// How long planning one request may take, from reading the live schema to the plan.
    pub budget: Duration,
}

impl PlanningConfig {
    /// The default limits: the sandbox's, and a budget of 60 s.
    pub fn new(database_url: String, dev: DevServer, repo_dir: PathBuf) -> PlanningConfig {
        PlanningConfig { database_url, dev, repo_dir, sandbox: SandboxPolicy::default(), budget: DEFAULT_BUDGET }
    }
}

/// The default time budget for planning one request.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(60);

/// Why no plan could be made; each says what to fix. What is posted to Linear is
/// `messages::planning_failed`, which never shows the details of `Database` and `Scratch`
/// (they name servers); those go to the log.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanningError {
    #[error("could not read the schema of the database being migrated: {0}")]
    Database(String),
    /// The request's SQL failed on a copy of the current schema; `line` is the description's.
    #[error("line {line}, column {column}: {message}")]
    RequestSql { line: usize, column: usize, statement_line: usize, message: String },
    /// A statement of the request's SQL ran longer than the sandbox allows.
    #[error("line {line}: the statement ran longer than {} s", limit.as_secs_f64())]
    StatementTimeout { line: usize, limit: Duration },
    #[error("the desired schema at {path} could not be loaded: {message}")]
    SchemaPath { path: String, message: String },
    /// Planning took longer than its budget.
    #[error("planning took longer than its budget of {} s", budget.as_secs())]
    OutOfTime { budget: Duration },
    #[error("the scratch database could not be prepared: {0}")]
    Scratch(String),
}

/// Plans the request against the database as it is now, within the configured budget.
pub async fn plan_request(
    config: &PlanningConfig,
    request: &ChangeRequest,
    label: &str,
) -> Result<Plan, PlanningError> {
    let deadline = Instant::now() + config.budget;
    // The sandbox keeps the deadline itself (and cleans up after itself); this is the last
    // word should any other part overrun.
    match tokio::time::timeout(config.budget + Duration::from_secs(5), plan_within(config, request, label, deadline))
        .await
    {
        Ok(result) => result,
        Err(_) => Err(PlanningError::OutOfTime { budget: config.budget }),
    }
}

async fn plan_within(
    config: &PlanningConfig,
    request: &ChangeRequest,
    label: &str,
    deadline: Instant,
) -> Result<Plan, PlanningError> {
    let out_of_time = || PlanningError::OutOfTime { budget: config.budget };
    let options = IntrospectOptions::default();
    // The database being migrated: a URL or a key=value connection string, never files.
    let target = Target::parse(&config.database_url).map_err(|e| PlanningError::Database(e.to_string()))?;
    let live = SqlSource::Database(Box::new(target));
    let current = tokio::time::timeout_at(deadline, live.load(&config.dev, &options))
        .await
        .map_err(|_| out_of_time())?
        .map_err(|e| PlanningError::Database(e.to_string()))?;
    // Renames the request's SQL spells out are planned as renames (expand/contract), not as
    // the drop and add its catalogs alone would show.
    let renames = match &request.proposed {
        ProposedChange::Sql(block) => cutover_lint::renames::renames(&block.text),
        ProposedChange::SchemaPath(_) => Default::default(),
    };
    let plan_options = PlanOptions {
        allow_downtime: matches!(request.downtime, Downtime::Window { .. }),
        renames: renames.columns,
        table_renames: renames.tables,
        ..PlanOptions::default()
    };
    let desired = match &request.proposed {
        ProposedChange::Sql(block) => {
            let text = SqlText { label: PathBuf::from(label), text: block.text.clone() };
            let applied =
                sandbox::apply(&config.dev, Some(&current), &[text], &config.sandbox, &plan_options.diff, deadline)
                    .await;
            match applied {
                Ok(desired) => desired,
                Err(cutover_db_postgres::Error::SourceSql { line, column, message, .. }) => {
                    return Err(PlanningError::RequestSql {
                        line: block.description_line(line),
                        column,
                        statement_line: line,
                        message,
                    });
                }
                Err(cutover_db_postgres::Error::StatementTimeout { line, limit, .. }) => {
                    return Err(PlanningError::StatementTimeout { line: block.description_line(line), limit });
                }
                Err(cutover_db_postgres::Error::OutOfTime) => return Err(out_of_time()),
                Err(e) => return Err(PlanningError::Scratch(e.to_string())),
            }
        }
        ProposedChange::SchemaPath(path) => {
            let failed = |message: String| PlanningError::SchemaPath { path: path.clone(), message };
            let files = schema_files(&config.repo_dir, path).map_err(failed)?;
            match sandbox::apply(&config.dev, None, &files, &config.sandbox, &plan_options.diff, deadline).await {
                Ok(desired) => desired,
                Err(cutover_db_postgres::Error::OutOfTime) => return Err(out_of_time()),
                Err(e @ cutover_db_postgres::Error::SourceSql { .. })
                | Err(e @ cutover_db_postgres::Error::StatementTimeout { .. }) => return Err(failed(e.to_string())),
                Err(e) => return Err(PlanningError::Scratch(e.to_string())),
            }
        }
    };
    Ok(planner::plan(&current, &desired, &plan_options))
}

/// The `.sql` files of a schema path named in a request: the file, or a directory's files
/// (recursively, in lexical order of their paths), each labelled with its path relative to
/// the repository. The path and every file must lie inside the repository once symbolic
/// links and `..` are resolved.
fn schema_files(repo: &Path, path: &str) -> Result<Vec<SqlText>, String> {
    let outside = || "it is not a file or directory inside the repository".to_string();
    let root = repo.canonicalize().map_err(|_| outside())?;
    let full = sandbox::resolve_inside(&root, path).ok_or_else(outside)?;
    let mut files = Vec::new();
    if full.is_dir() {
        collect_sql_files(&full, &mut files).map_err(|_| "it could not be read".to_string())?;
        files.sort();
    } else {
        files.push(full);
    }
    if files.is_empty() {
        return Err("the directory has no .sql files".into());
    }
    let mut texts = Vec::new();
    for file in files {
        let file = file.canonicalize().map_err(|_| outside())?;
        let Ok(relative) = file.strip_prefix(&root) else { return Err(outside()) };
        let text = std::fs::read_to_string(&file).map_err(|_| format!("{} could not be read", relative.display()))?;
        texts.push(SqlText { label: relative.to_path_buf(), text });
    }
    Ok(texts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_paths_stay_inside_the_repository() {
        let repo = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.sql"), "SELECT 'secret'").unwrap();
        std::fs::create_dir(repo.path().join("db")).unwrap();
        std::fs::write(repo.path().join("db/010_a.sql"), "CREATE TABLE a ()").unwrap();
        std::fs::write(repo.path().join("db/000_b.sql"), "CREATE TABLE b ()").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret.sql"), repo.path().join("db/link.sql")).unwrap();
        std::os::unix::fs::symlink(outside.path(), repo.path().join("elsewhere")).unwrap();

        let refused = "it is not a file or directory inside the repository";
        for path in ["../secret.sql", "/etc/passwd", "elsewhere/secret.sql", "elsewhere", "missing.sql"] {
            assert_eq!(schema_files(repo.path(), path).err().as_deref(), Some(refused), "{path}");
        }
        // A link inside a directory that leaves the repository refuses the whole directory.
        assert_eq!(schema_files(repo.path(), "db").err().as_deref(), Some(refused));
        std::fs::remove_file(repo.path().join("db/link.sql")).unwrap();
        let files = schema_files(repo.path(), "db").unwrap();
        let labels: Vec<_> = files.iter().map(|f| f.label.display().to_string()).collect();
        assert_eq!(labels, ["db/000_b.sql", "db/010_a.sql"]);
    }
}
