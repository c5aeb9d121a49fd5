//! One module per command; each returns an [`Outcome`] or an error for exit code 2.

mod agent;
mod apply;
mod backfill;
mod demo;
mod diff;
mod draft;
mod impact;
mod lint;
mod plan;
mod verify;
mod write;

use crate::cli::{Cli, Command, SourceArgs};
use anyhow::Context;
use cutover_db_postgres::introspect::IntrospectOptions;
use cutover_db_postgres::scratch::DevServer;
use cutover_db_postgres::source::SqlSource;
use cutover_plan::DiffOptions;
use cutover_schema::Catalog;
use std::process::ExitCode;

/// How a command that ran to the end finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// Lint errors, differences with --exit-code, failed verification.
    Findings,
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> ExitCode {
        match outcome {
            Outcome::Success => ExitCode::SUCCESS,
            Outcome::Findings => ExitCode::from(1),
        }
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Diff(args) => diff::run(args).await,
        Command::Plan(args) => plan::run(args).await,
        Command::Lint(args) => lint::run(args).await,
        Command::Write(args) => write::run(args),
        Command::Apply(args) => apply::run(args).await,
        Command::Verify(args) => verify::run(args).await,
        Command::Backfill(args) => backfill::run(args).await,
        Command::Impact(args) => impact::run(args).await,
        Command::Draft(args) => draft::run(args).await,
        Command::Issue(args) => agent::issue(args).await,
        Command::Serve(args) => agent::serve(args).await,
        Command::Demo(args) => demo::run(args).await,
    }
}

impl SourceArgs {
    pub fn diff_options(&self) -> DiffOptions {
        DiffOptions {
            privileges: self.with_privileges,
            extension_versions: self.extension_versions,
            schemas: self.schemas.clone(),
            exclude_schemas: self.exclude_schemas.clone(),
            create_extensions_only: self.create_extensions_only,
        }
    }

    /// Reads both schemas, concurrently, sharing one dev server.
    pub async fn load(&self) -> anyhow::Result<(Catalog, Catalog)> {
        let (current, desired, _, _) = self.load_with_sources().await?;
        Ok((current, desired))
    }

    /// Like [`SourceArgs::load`], also returning the --from source and the dev server.
    pub async fn load_with_sources(&self) -> anyhow::Result<(Catalog, Catalog, SqlSource, DevServer)> {
        let from = SqlSource::parse(&self.from).context("invalid --from")?;
        let to = SqlSource::parse(&self.to).context("invalid --to")?;
        let dev = DevServer::new(self.dev_url.clone());
        let options = IntrospectOptions::default();
        // Both are read at once, on separate tasks so that decoding and building the two
        // catalogs run in parallel; when both fail, the --from error is the one reported.
        let spawn = |source: SqlSource| {
            let (dev, options) = (dev.clone(), options.clone());
            tokio::spawn(async move { source.load(&dev, &options).await })
        };
        let (current, desired) = (spawn(from.clone()), spawn(to));
        let (current, desired) = (current.await, desired.await);
        let current =
            current.context("reading the --from schema stopped")?.context("could not read the --from schema")?;
        let desired = desired.context("reading the --to schema stopped")?.context("could not read the --to schema")?;
        Ok((current, desired, from, dev))
    }
}
