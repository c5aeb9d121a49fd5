//! From a parsed request to a plan: the current schema read from the database being migrated
//! (read-only), the desired schema made by applying the request's DDL to a scratch copy of it
//! (or read from a schema path in the repository), then the phased plan.

use std::path::{Path, PathBuf};

use cutover_db_postgres::introspect::IntrospectOptions;
use cutover_db_postgres::scratch::DevServer;
use cutover_db_postgres::source::SqlSource;
use cutover_db_postgres::validate::apply_changes;
use cutover_plan::planner::{self, Plan, PlanOptions};
use cutover_request::{ChangeRequest, Downtime, ProposedChange};

/// Where schemas come from.
#[derive(Debug, Clone)]
pub struct PlanningConfig {
    /// The database being migrated (`CUTOVER_DATABASE_URL`); only ever read.
    pub database_url: String,
    /// Where scratch databases are made: `--dev-url`, or a throwaway local cluster.
    pub dev: DevServer,
    /// Root for desired-schema paths named in requests.
    pub repo_dir: PathBuf,
}

/// Why no plan could be made; each says what to fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanningError {
    #[error("could not read the schema of the database being migrated: {0}")]
    Database(String),
    /// The request's SQL failed on a copy of the current schema; `line` is the description's.
    #[error("line {line}, column {column}: {message}")]
    RequestSql { line: usize, column: usize, statement_line: usize, message: String },
    #[error("the desired schema at {path} could not be loaded: {message}")]
    SchemaPath { path: String, message: String },
    #[error("the scratch database could not be prepared: {0}")]
    Scratch(String),
}

/// Plans the request against the database as it is now.
pub async fn plan_request(
    config: &PlanningConfig,
    request: &ChangeRequest,
    label: &str,
) -> Result<Plan, PlanningError> {
    let options = IntrospectOptions::default();
    let live = SqlSource::parse(&config.database_url).map_err(|e| PlanningError::Database(e.to_string()))?;
    let current = live.load(&config.dev, &options).await.map_err(|e| PlanningError::Database(e.to_string()))?;
    let plan_options =
        PlanOptions { allow_downtime: matches!(request.downtime, Downtime::Window { .. }), ..PlanOptions::default() };
    let desired = match &request.proposed {
        ProposedChange::Sql(block) => {
            match apply_changes(&config.dev, &current, &block.text, Path::new(label), &plan_options.diff).await {
                Ok(desired) => desired,
                Err(cutover_db_postgres::Error::SourceSql { line, column, message, .. }) => {
                    return Err(PlanningError::RequestSql {
                        line: block.description_line(line),
                        column,
                        statement_line: line,
                        message,
                    });
                }
                Err(e) => return Err(PlanningError::Scratch(e.to_string())),
            }
        }
        ProposedChange::SchemaPath(path) => {
            let full = config.repo_dir.join(path);
            let source = SqlSource::parse(&full.to_string_lossy())
                .map_err(|e| PlanningError::SchemaPath { path: path.clone(), message: e.to_string() })?;
            source
                .load(&config.dev, &options)
                .await
                .map_err(|e| PlanningError::SchemaPath { path: path.clone(), message: e.to_string() })?
        }
    };
    Ok(planner::plan(&current, &desired, &plan_options))
}
