//! `cutover diff`: the statements that make --from converge to --to.

use super::Outcome;
use crate::cli::{DiffArgs, DiffFormat};
use std::io::Write;

pub async fn run(args: DiffArgs) -> anyhow::Result<Outcome> {
    let (current, desired) = args.sources.load().await?;
    let diff = cutover_plan::diff(&current, &desired, &args.sources.diff_options());
    let findings = args.exit_code && !diff.is_empty();
    let mut stdout = std::io::stdout().lock();
    match args.format {
        DiffFormat::Sql => {
            stdout.write_all(diff.to_sql().as_bytes())?;
            let destructive: Vec<_> = diff.changes.iter().filter(|c| c.is_destructive()).collect();
            if !destructive.is_empty() {
                eprintln!("warning: {} of {} statements destroy data:", destructive.len(), diff.changes.len());
                for change in destructive {
                    for hazard in change.hazards.iter().filter(|h| h.code == cutover_plan::HazardCode::DataLoss) {
                        eprintln!("  - {}", hazard.message);
                    }
                }
            }
        }
        DiffFormat::Json => {
            serde_json::to_writer_pretty(&mut stdout, &diff.to_json())?;
            stdout.write_all(b"\n")?;
        }
    }
    stdout.flush()?;
    // The process ends right after this; freeing two large catalogs item by item would
    // only cost time.
    std::mem::forget((current, desired, diff));
    Ok(if findings { Outcome::Findings } else { Outcome::Success })
}
