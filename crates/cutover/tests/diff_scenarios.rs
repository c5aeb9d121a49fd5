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
//! each statement as comments, is snapshotted (tests/snapshots/). Adding a scenario is
//! adding a file; `INSTA_UPDATE=always` records new snapshots for review.

mod common;

use cutover_plan::{Diff, DiffOptions};
use std::path::{Path, PathBuf};

struct Scenario {
    name: String,
    options: DiffOptions,
    before: String,
    after: String,
}

fn parse(path: &Path) -> Scenario {
    let text = std::fs::read_to_string(path).expect("scenario file");
    let name = path.file_stem().unwrap().to_string_lossy().to_string();
    let mut options = DiffOptions::default();
    let (mut before, mut after) = (String::new(), String::new());
    let mut section = None;
    for line in text.lines() {
        match line.trim() {
            "-- before" => section = Some(&mut before),
            "-- after" => section = Some(&mut after),
            l if l.starts_with("-- options:") && section.is_none() => {
                for option in l["-- options:".len()..].split(',').map(str::trim) {
                    match option {
                        "with-privileges" => options.privileges = true,
                        "extension-versions" => options.extension_versions = true,
                        other => panic!("{name}: unknown option {other}"),
                    }
                }
            }
            _ => {
                if let Some(s) = section.as_mut() {
                    s.push_str(line);
                    s.push('\n');
                }
            }
        }
    }
    assert!(section.is_some(), "{name}: no -- before / -- after sections");
    Scenario { name, options, before, after }
}

/// The snapshot text: each statement, preceded by its hazards as comments.
pub fn render(diff: &Diff) -> String {
    let mut out = String::new();
    for change in &diff.changes {
        for hazard in &change.hazards {
            out.push_str(&format!("-- {}: {}\n", hazard.code, hazard.message));
        }
        out.push_str(&change.sql());
        out.push_str(";\n\n");
    }
    if out.is_empty() { "-- no changes\n".into() } else { out }
}

async fn run(scenario: &Scenario) -> Result<String, String> {
    let from = common::db_with(&scenario.before, "before").await?;
    let to = common::db_with(&scenario.after, "after").await?;
    let diff = common::converge(&from, &to, &scenario.options, true).await?;
    Ok(render(&diff))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_diff_scenario_converges_and_matches_its_snapshot() {
    cutover_test_support::ensure_role("app_reader").await;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/scenarios/diff");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("scenario directory")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 60, "at least 60 diff scenarios, found {}", paths.len());

    let semaphore = std::sync::Arc::new(tokio::sync::Semaphore::new(4));
    let mut handles = Vec::new();
    for path in paths {
        let permit = semaphore.clone().acquire_owned().await.unwrap();
        handles.push(tokio::spawn(async move {
            let scenario = parse(&path);
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
