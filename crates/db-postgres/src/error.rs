//! The failure modes of the PostgreSQL adapter.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("could not connect to {url}: {message}")]
    Connect { url: String, message: String },

    #[error("{what} failed: {message}")]
    Query { what: String, message: String },

    #[error("{path}:{line}:{column}: {message}")]
    SourceSql { path: PathBuf, line: usize, column: usize, message: String },

    #[error("could not read {path}: {cause}")]
    ReadSource { path: PathBuf, cause: std::io::Error },

    #[error("{0}")]
    InvalidSource(String),

    #[error("{0}")]
    Cluster(String),

    /// A statement of SQL run in a sandbox ran past the policy's statement timeout.
    #[error("{path}:{line}:{column}: the statement ran longer than {} s, the limit for one statement on the scratch server", limit.as_secs_f64())]
    StatementTimeout { path: PathBuf, line: usize, column: usize, limit: std::time::Duration },

    /// The deadline given for the work passed before it finished.
    #[error("the work on the scratch server did not finish before its deadline")]
    OutOfTime,

    #[error("the server is PostgreSQL {found}; Cutover supports PostgreSQL 12 and later")]
    UnsupportedVersion { found: String },
}

impl Error {
    pub(crate) fn query(what: impl Into<String>, err: tokio_postgres::Error) -> Self {
        Error::Query { what: what.into(), message: describe(&err) }
    }
}

/// Why a connection failed, in one phrase: the server's message, or the innermost cause
/// (`Connection refused (os error 111)`) rather than the client library's wrapping of it.
pub fn connect_failure(err: &tokio_postgres::Error) -> String {
    if err.as_db_error().is_some() {
        return describe(err);
    }
    let mut cause: &dyn std::error::Error = err;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    cause.to_string()
}

/// PostgreSQL's own message with its detail and hint, or the client error.
pub fn describe(err: &tokio_postgres::Error) -> String {
    match err.as_db_error() {
        Some(db) => {
            let mut text = format!("{}: {}", db.severity(), db.message());
            if let Some(detail) = db.detail() {
                text.push_str(&format!(" (detail: {detail})"));
            }
            if let Some(hint) = db.hint() {
                text.push_str(&format!(" (hint: {hint})"));
            }
            text
        }
        None => err.to_string(),
    }
}
