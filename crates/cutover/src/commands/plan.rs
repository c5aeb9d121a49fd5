//! `cutover plan`: the phased, lock-safe plan for --from → --to.

use super::Outcome;
use crate::cli::{PlanArgs, PlanFormat};
use anyhow::Context;
use cutover_plan::planner::{self, PlanOptions};
use std::io::Write;

pub async fn run(args: PlanArgs) -> anyhow::Result<Outcome> {
    let renames = args
        .rename_columns
        .iter()
        .map(|r| planner::ColumnRename::parse(r))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("invalid --rename-column {e}"))?;
    let table_renames = args
        .rename_tables
        .iter()
        .map(|r| planner::TableRename::parse(r))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("invalid --rename-table {e}"))?;
    let (current, desired, source, dev) = args.sources.load_with_sources().await?;
    let options = PlanOptions {
        diff: args.sources.diff_options(),
        server_version: args.pg_version.map(|v| v * 10000),
        lock_timeout_ms: args.lock_timeout,
        batch_size: args.batch_size,
        allow_downtime: args.allow_downtime || args.downtime_window.is_some(),
        renames,
        table_renames,
        downtime_window: args.downtime_window,
    };
    let plan = planner::plan(&current, &desired, &options);
    let mut stdout = std::io::stdout().lock();
    match args.format {
        PlanFormat::Human => stdout.write_all(planner::render_human(&plan).as_bytes())?,
        PlanFormat::Markdown => {
            stdout.write_all(planner::render_markdown(&plan, planner::Flavor::GitHub).as_bytes())?
        }
        PlanFormat::Json => {
            serde_json::to_writer_pretty(&mut stdout, &plan)?;
            stdout.write_all(b"\n")?;
        }
    }
    stdout.flush()?;
    let mut findings = !plan.blockers.is_empty();
    if args.validate {
        if !plan.blockers.is_empty() {
            eprintln!("validation skipped: the plan has {} blocker(s), so it cannot reach --to", plan.blockers.len());
        } else {
            let validation =
                cutover_db_postgres::validate::validate(&source, &current, &desired, &plan, &dev, &options.diff)
                    .await
                    .context("validation failed")?;
            if validation.remaining.is_empty() {
                eprintln!(
                    "validated: the plan, applied phase by phase to a copy of the --from schema, converges with --to"
                );
            } else {
                eprintln!(
                    "validation failed: after the plan, the schema still differs from --to by:\n{}",
                    validation.remaining.to_sql()
                );
                findings = true;
            }
        }
    }
    Ok(if findings { Outcome::Findings } else { Outcome::Success })
}
