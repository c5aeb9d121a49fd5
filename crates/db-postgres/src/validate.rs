//! `plan --validate`: apply a plan, phase by phase, to a scratch copy of the current schema
//! and check that the result converges with the desired schema.

use crate::Error;
use crate::execute::run_phase;
use crate::introspect::{IntrospectOptions, introspect};
use crate::scratch::DevServer;
use crate::source::{SqlSource, apply_file};
use cutover_plan::planner::Plan;
use cutover_plan::{Diff, DiffOptions, diff};
use cutover_schema::Catalog;

/// What validation found: the differences left after applying the plan (none: converged).
#[derive(Debug)]
pub struct Validation {
    pub remaining: Diff,
}

/// Builds a scratch copy of `current` (its SQL files, or for a live database the schema
/// the diff from an empty database recreates), runs the plan's phases in order, and diffs
/// the result against `desired`.
pub async fn validate(
    source: &SqlSource,
    current: &Catalog,
    desired: &Catalog,
    plan: &Plan,
    dev: &DevServer,
    options: &DiffOptions,
) -> Result<Validation, Error> {
    let scratch = dev.create_scratch().await?;
    let result = async {
        let client = scratch.connect().await?;
        match source {
            SqlSource::Files { files, .. } => {
                for file in files {
                    apply_file(&client, file).await?;
                }
            }
            SqlSource::Database(_) => recreate(&client, current, options).await?,
        }
        for phase in &plan.phases {
            run_phase(&client, phase).await?;
        }
        let after = introspect(&client, &IntrospectOptions::default()).await?;
        Ok(Validation { remaining: diff(&after, desired, options) })
    }
    .await;
    scratch.remove().await?;
    result
}

/// Recreates `catalog` in an empty database: the diff from what the empty database holds.
pub async fn recreate(client: &tokio_postgres::Client, catalog: &Catalog, options: &DiffOptions) -> Result<(), Error> {
    for change in recreation(client, catalog, options).await? {
        client
            .batch_execute(&change.sql())
            .await
            .map_err(|e| Error::query(format!("recreating the current schema with `{}`", change.sql()), e))?;
    }
    Ok(())
}

/// The statements that build `catalog` in the empty database `client` is connected to: the
/// diff from what it holds (privileges as `options` says).
pub async fn recreation(
    client: &tokio_postgres::Client,
    catalog: &Catalog,
    options: &DiffOptions,
) -> Result<Vec<cutover_plan::Change>, Error> {
    let empty = introspect(client, &IntrospectOptions::default()).await?;
    Ok(diff(&empty, catalog, &DiffOptions { privileges: options.privileges, ..DiffOptions::default() }).changes)
}
