//! From a parsed request to a plan: the current schema read from the database being migrated
//! (read-only), the desired schema made by applying the request's SQL (or the schema files a
//! request names in the repository) in a sandbox on the scratch server, then the phased plan.
//!
//! Everything in a request is written by someone else: its SQL runs only in the sandbox
//! (`cutover_db_postgres::sandbox`: an unprivileged role, limited extensions, a time limit
//! per statement), a schema path must lie inside the repository, and the whole job has a
//! time budget after which it stops, drops its scratch database and frees the worker.
//!
//! The change is also reviewed (`review`): the linter runs over the request's SQL (or, for a
//! desired-schema path, the plan's statements) against the live catalog the planner read, and
//! its findings go beside the plan in the comment (`messages::plan_comment_reviewed`).

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
    /// Which lint rules review the change (and `[lint.naming]`); the timeout rules are always
    /// off, since every step of the plan carries its own timeouts.
    pub lint: cutover_lint::RuleSettings,
}

impl PlanningConfig {
    /// The default limits: the sandbox's, and a budget of 60 s.
    pub fn new(database_url: String, dev: DevServer, repo_dir: PathBuf) -> PlanningConfig {
        PlanningConfig {
            database_url,
            dev,
            repo_dir,
            sandbox: SandboxPolicy::default(),
            budget: DEFAULT_BUDGET,
            lint: cutover_lint::RuleSettings::default(),
        }
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

/// A plan and the review of the change it makes.
#[derive(Debug, Clone)]
pub struct Planned {
    pub plan: Plan,
    pub review: Review,
}

/// What the linter says about a request's change, against the live catalog.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Review {
    /// What was linted.
    pub source: ReviewSource,
    /// In order of position.
    pub findings: Vec<ReviewFinding>,
}

/// One finding and where it is, in words: "line 12 of the description", or "expand phase,
/// step 2" for a plan's statement.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewFinding {
    pub diagnostic: cutover_lint::Diagnostic,
    pub place: String,
}

/// What a review linted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ReviewSource {
    /// The SQL in **Proposed schema changes**.
    #[default]
    RequestSql,
    /// The plan's statements (the request names a desired-schema path).
    PlanSteps,
}

impl Review {
    /// The design family's findings (`cutover_lint::rules::DESIGN`).
    pub fn design(&self) -> impl Iterator<Item = &ReviewFinding> {
        self.findings.iter().filter(|f| f.is_design())
    }

    /// The other findings: how the SQL would run.
    pub fn lint(&self) -> impl Iterator<Item = &ReviewFinding> {
        self.findings.iter().filter(|f| !f.is_design())
    }
}

impl ReviewFinding {
    fn is_design(&self) -> bool {
        cutover_lint::rules::DESIGN.contains(&self.diagnostic.rule.as_str())
    }
}

/// Plans the request against the database as it is now, within the configured budget.
pub async fn plan_request(
    config: &PlanningConfig,
    request: &ChangeRequest,
    label: &str,
) -> Result<Plan, PlanningError> {
    plan_reviewed(config, request, label).await.map(|planned| planned.plan)
}

/// Plans the request and reviews its change (see [`review`]), within the configured budget.
pub async fn plan_reviewed(
    config: &PlanningConfig,
    request: &ChangeRequest,
    label: &str,
) -> Result<Planned, PlanningError> {
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
) -> Result<Planned, PlanningError> {
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
        // A window of known length: a step that blocks writes for longer is a blocker.
        downtime_window: match request.downtime {
            Downtime::Window { seconds: Some(seconds), .. } => Some(Duration::from_secs(seconds.into())),
            _ => None,
        },
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
    let plan = planner::plan(&current, &desired, &plan_options);
    let review = review(request, &plan, &current, &config.lint);
    Ok(Planned { plan, review })
}

/// Lints the request's change against the live catalog `current`: the request's SQL as
/// written (its findings at the description's lines), or, for a desired-schema path, the
/// plan's statements in order. The timeout rules are left out: the plan gives every step its
/// lock_timeout and statement_timeout.
pub fn review(
    request: &ChangeRequest,
    plan: &Plan,
    current: &cutover_schema::Catalog,
    settings: &cutover_lint::RuleSettings,
) -> Review {
    let mut rules = settings.clone();
    rules.disabled.extend(["missing-lock-timeout", "missing-statement-timeout"].map(String::from));
    let options = cutover_lint::LintOptions {
        pg_version: match current.facts.server_version_num / 10000 {
            0 => cutover_lint::LintOptions::default().pg_version,
            v => v,
        },
        assume_in_transaction: false,
        database: Some(current.clone()),
        rules,
    };
    // The text linted, and where each statement of a plan starts (line, phase, step).
    let mut starts: Vec<(usize, String)> = Vec::new();
    let (source, text) = match &request.proposed {
        ProposedChange::Sql(block) => (ReviewSource::RequestSql, block.text.clone()),
        ProposedChange::SchemaPath(_) => {
            let mut text = String::new();
            for phase in &plan.phases {
                for (i, step) in phase.steps.iter().enumerate() {
                    starts.push((text.lines().count() + 1, format!("{} phase, step {}", phase.name, i + 1)));
                    text.push_str(step.sql.trim_end().trim_end_matches(';'));
                    text.push_str(";\n");
                }
            }
            (ReviewSource::PlanSteps, text)
        }
    };
    let file = cutover_lint::SourceFile { path: "proposed.sql".into(), text };
    let diagnostics = cutover_lint::lint(std::slice::from_ref(&file), &options).diagnostics;
    let findings = diagnostics
        .into_iter()
        .map(|diagnostic| {
            let place = match &request.proposed {
                ProposedChange::Sql(block) => {
                    format!("line {} of the description", block.description_line(diagnostic.line))
                }
                ProposedChange::SchemaPath(_) => starts
                    .iter()
                    .rev()
                    .find(|(line, _)| *line <= diagnostic.line)
                    .map_or_else(|| "the plan".to_string(), |(_, place)| place.clone()),
            };
            ReviewFinding { diagnostic, place }
        })
        .collect();
    Review { source, findings }
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
