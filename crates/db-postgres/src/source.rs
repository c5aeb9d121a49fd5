//! SQL sources: what `--from` and `--to` name.
//!
//! A live database is introspected read-only. A `.sql` file or a directory of them is
//! applied, statement by statement, to a fresh scratch database on the dev server, and that
//! database is introspected and dropped: the real server interprets the DDL.

use crate::Error;
use crate::connect::Target;
use crate::introspect::{IntrospectOptions, introspect};
use crate::scratch::DevServer;
use cutover_schema::Catalog;
use std::path::{Path, PathBuf};
use tokio_postgres::Client;
use tokio_postgres::error::ErrorPosition;

/// Where a schema comes from.
#[derive(Debug, Clone)]
pub enum SqlSource {
    Database(Box<Target>),
    Files { root: PathBuf, files: Vec<PathBuf> },
}

impl SqlSource {
    /// Reads a SRC argument: a `postgres://` or `postgresql://` URL, a `.sql` file, or a
    /// directory whose `.sql` files (recursively) are applied in lexical order of their paths.
    pub fn parse(arg: &str) -> Result<SqlSource, Error> {
        if arg.starts_with("postgres://") || arg.starts_with("postgresql://") {
            return Ok(SqlSource::Database(Box::new(Target::parse(arg)?)));
        }
        let path = Path::new(arg);
        if path.is_file() {
            return Ok(SqlSource::Files { root: path.to_path_buf(), files: vec![path.to_path_buf()] });
        }
        if path.is_dir() {
            let mut files = Vec::new();
            collect_sql_files(path, &mut files)?;
            files.sort();
            if files.is_empty() {
                return Err(Error::InvalidSource(format!("{arg} is a directory with no .sql files")));
            }
            return Ok(SqlSource::Files { root: path.to_path_buf(), files });
        }
        // libpq's key=value form (`host=... dbname=...`), when no such file exists.
        if arg.split_whitespace().next().is_some_and(|word| word.contains('=')) {
            return Ok(SqlSource::Database(Box::new(Target::parse(arg)?)));
        }
        // (Never the argument as given: a connection string may hold a password.)
        Err(Error::InvalidSource(format!(
            "{} is neither a postgres:// URL nor an existing .sql file or directory",
            crate::connect::redact(arg)
        )))
    }

    /// Reads the catalog this source describes.
    pub async fn load(&self, dev: &DevServer, options: &IntrospectOptions) -> Result<Catalog, Error> {
        match self {
            SqlSource::Database(target) => {
                let client = target.connect().await?;
                introspect(&client, options).await
            }
            SqlSource::Files { files, .. } => {
                let scratch = dev.create_scratch().await?;
                let result = async {
                    let client = scratch.connect().await?;
                    for file in files {
                        apply_file(&client, file).await?;
                    }
                    introspect(&client, options).await
                }
                .await;
                scratch.remove().await?;
                result
            }
        }
    }
}

/// The `.sql` files below `dir`, recursively (unsorted).
pub fn collect_sql_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), Error> {
    let entries = std::fs::read_dir(dir).map_err(|cause| Error::ReadSource { path: dir.to_path_buf(), cause })?;
    for entry in entries {
        let path = entry.map_err(|cause| Error::ReadSource { path: dir.to_path_buf(), cause })?.path();
        if path.is_dir() {
            collect_sql_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "sql") {
            out.push(path);
        }
    }
    Ok(())
}

/// Applies one file statement by statement; the first error is reported with the file, the
/// line and column PostgreSQL points at (or where the statement starts), and its message.
pub async fn apply_file(client: &Client, path: &Path) -> Result<(), Error> {
    let text = std::fs::read_to_string(path).map_err(|cause| Error::ReadSource { path: path.to_path_buf(), cause })?;
    apply_sql(client, path, &text).await
}

/// Applies SQL text as if it came from `path`.
pub async fn apply_sql(client: &Client, path: &Path, text: &str) -> Result<(), Error> {
    for stmt in cutover_sql::split::split(text) {
        if let Err(err) = client.batch_execute(stmt.text).await {
            return Err(statement_error(path, &stmt, &err));
        }
    }
    Ok(())
}

/// The error of one statement of `path`, at the line and column PostgreSQL points at (or
/// where the statement starts).
pub(crate) fn statement_error(path: &Path, stmt: &cutover_sql::split::Statement, err: &tokio_postgres::Error) -> Error {
    let (line, column) = match err.as_db_error().and_then(|db| db.position()) {
        Some(ErrorPosition::Original(pos)) => stmt.location_of(*pos as usize),
        _ => (stmt.line, stmt.column),
    };
    Error::SourceSql { path: path.to_path_buf(), line, column, message: crate::error::describe(err) }
}
