//! The migra corpus (tests/corpora/migra) on a real server: for every case, the diff from
//! `a.sql` to `b.sql` applies cleanly to `a`, a second diff is empty, and both databases hold
//! the same schema; then the same again from `a.sql` + `additions.sql`.
//!
//! Upstream compares its own output text (`expected.sql`); Cutover's statements and their
//! order differ by design, so the checks here are the semantic ones. `generated_added`,
//! which upstream no longer runs because its expected output is stale, runs here too: its
//! inputs are valid and convergence does not depend on the expected text.

mod common;

use cutover_plan::DiffOptions;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpora/migra")
}

fn options(meta: &Value) -> DiffOptions {
    let o = &meta["migra_options"];
    let list = |v: &Value| v.as_str().map(|s| vec![s.to_string()]).unwrap_or_default();
    DiffOptions {
        privileges: o["with_privileges"].as_bool().unwrap_or(false),
        extension_versions: !o["ignore_extension_versions"].as_bool().unwrap_or(false),
        schemas: list(&o["schema"]),
        exclude_schemas: list(&o["exclude_schema"]),
        create_extensions_only: o["create_extensions_only"].as_bool().unwrap_or(false),
    }
}

async fn run_case(dir: PathBuf) -> Result<(), String> {
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_default();
    let meta: Value = serde_json::from_str(&read("meta.json")).map_err(|e| e.to_string())?;
    let options = options(&meta);
    let check_models = !options.create_extensions_only;
    let (a, b, additions) = (read("a.sql"), read("b.sql"), read("additions.sql"));

    let from = common::db_with(&a, "a.sql").await?;
    let to = common::db_with(&b, "b.sql").await?;
    common::converge(&from, &to, &options, check_models).await.map_err(|e| format!("a -> b: {e}"))?;

    if !additions.trim().is_empty() {
        let from = common::db_with(&format!("{a};\n{additions}"), "a.sql + additions.sql").await?;
        common::converge(&from, &to, &options, check_models).await.map_err(|e| format!("a + additions -> b: {e}"))?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_migra_case_converges_on_a_real_server() {
    cutover_test_support::ensure_role("schemainspect_test_role").await;
    let mut cases: Vec<PathBuf> = std::fs::read_dir(corpus())
        .expect("the migra corpus")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("a.sql").is_file())
        .collect();
    cases.sort();
    assert_eq!(cases.len(), 26, "the corpus has 26 cases");

    let semaphore = std::sync::Arc::new(tokio::sync::Semaphore::new(4));
    let mut handles = Vec::new();
    for dir in cases {
        let permit = semaphore.clone().acquire_owned().await.unwrap();
        handles.push(tokio::spawn(async move {
            let name = dir.file_name().unwrap().to_string_lossy().to_string();
            let result = run_case(dir).await;
            drop(permit);
            (name, result)
        }));
    }
    let mut failures = Vec::new();
    for handle in handles {
        let (name, result) = handle.await.expect("case task");
        if let Err(e) = result {
            failures.push(format!("=== {name} ===\n{e}"));
        }
    }
    assert!(failures.is_empty(), "{} case(s) failed:\n\n{}", failures.len(), failures.join("\n\n"));
}
