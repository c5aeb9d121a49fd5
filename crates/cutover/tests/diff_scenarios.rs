//! Diff scenarios (tests/scenarios/diff/*.sql), one file each:
//!
//! ```sql
//! -- What the scenario shows, in one line.
//! -- options: with-privileges, extension-versions   (optional)
//! -- before
//! CREATE TABLE ...;
//! -- after
//! CREATE TABLE ...;
//! ```
//!
//! For every scenario on a real server: the diff applies cleanly to `before`, a second diff
//! is empty, and both databases hold the same schema. The emitted SQL, with the hazards of
//! each statement as comments, is snapshotted (tests/snapshots/). The catalogs read are
//! checked against the scenario's recording (tests/recorded/diff/), from which
//! crates/plan/tests/recorded.rs checks the same snapshots without a server. Adding a
//! scenario is adding a file; `INSTA_UPDATE=always` records new snapshots for review,
//! `CUTOVER_RECORD=1` the recordings; `CUTOVER_SCENARIO=part` runs only matching scenarios.

mod common;

use common::scenario::{self, DiffScenario, parse_diff, render_diff};
use std::path::Path;

/// Converges the scenario on the server, checks its recording, and renders its diff.
async fn run(s: &DiffScenario) -> Result<String, String> {
    let from = common::db_with(&s.before, "before").await?;
    let to = common::db_with(&s.after, "after").await?;
    let (current, desired) = (common::read(&from).await?, common::read(&to).await?);
    scenario::record_or_check("diff", &s.name, &s.hash, &current, &desired)?;
    let diff = common::converge(&from, &to, &s.options, true).await?;
    Ok(render_diff(&diff))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_diff_scenario_converges_and_matches_its_snapshot() {
    cutover_test_support::ensure_role("app_reader").await;
    let paths = scenario::paths("diff");
    assert!(paths.len() >= 60 || !scenario::unfiltered(), "at least 60 diff scenarios, found {}", paths.len());

    let semaphore = std::sync::Arc::new(tokio::sync::Semaphore::new(4));
    let mut handles = Vec::new();
    for path in paths {
        let permit = semaphore.clone().acquire_owned().await.unwrap();
        handles.push(tokio::spawn(async move {
            let scenario = parse_diff(&path);
            let result = run(&scenario).await;
            drop(permit);
            (scenario.name, result)
        }));
    }
    let mut outputs = Vec::new();
    let mut failures = Vec::new();
    for handle in handles {
        match handle.await.expect("scenario task") {
            (name, Ok(sql)) => outputs.push((name, sql)),
            (name, Err(e)) => failures.push(format!("=== {name} ===\n{e}")),
        }
    }
    assert!(failures.is_empty(), "{} scenario(s) failed:\n\n{}", failures.len(), failures.join("\n\n"));
    let snapshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/snapshots/diff");
    insta::with_settings!({ snapshot_path => snapshots, prepend_module_to_snapshot => false, omit_expression => true }, {
        for (name, sql) in outputs {
            insta::assert_snapshot!(name, sql);
        }
    });
}
