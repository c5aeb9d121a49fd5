//! The strong_migrations corpus (tests/corpora/strong_migrations) as changes of desired
//! schema: for each operation, current = setup.sql and desired = setup.sql + unsafe.sql, with
//! every table taken as large. The plan must use the safe recipe (or refuse with the expected
//! blocker), as tests/corpora/strong_migrations/plan_expectations.json says, and converge
//! phase by phase on a real server.

mod common;

use cutover_plan::hazard::HazardCode;
use cutover_plan::planner::{self, ColumnRename, Plan, PlanOptions, TableRename};
use cutover_schema::TableFacts;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpora/strong_migrations")
}

/// Steps that rewrite or scan a live table while blocking it.
fn unsafe_steps(plan: &Plan) -> Vec<String> {
    plan.steps()
        .filter(|(_, s)| {
            s.hazards.iter().any(|h| matches!(h.code, HazardCode::TableRewrite | HazardCode::FullScanUnderLock))
        })
        .map(|(p, s)| format!("[{}] {}", p.name, s.sql))
        .collect()
}

async fn check(slug: &str, expectation: &Value) -> Result<(), String> {
    let dir = corpus().join(slug);
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_default();
    let (setup, unsafe_sql) = (read("setup.sql"), read("unsafe.sql"));
    let from = common::db_with(&setup, "setup.sql").await?;
    let to = common::db_with(&format!("{setup}\n{unsafe_sql}"), "setup.sql + unsafe.sql").await?;
    let mut current = common::read(&from).await?;
    for table in current.tables.keys().cloned().collect::<Vec<_>>() {
        current.facts.tables.insert(table, TableFacts { rows: Some(10_000_000), bytes: 1_200_000_000 });
    }
    let desired = common::read(&to).await?;
    let mut options = PlanOptions::default();
    if let Some(r) = expectation["rename_column"].as_str() {
        options.renames.push(ColumnRename::parse(r)?);
    }
    if let Some(r) = expectation["rename_table"].as_str() {
        options.table_renames.push(TableRename::parse(r)?);
    }
    let plan = planner::plan(&current, &desired, &options);
    let text = planner::render_human(&plan);
    match expectation["expect"].as_str() {
        Some("safe") => {
            if !plan.blockers.is_empty() {
                return Err(format!("expected a safe plan, got blockers:\n{text}"));
            }
            let bad = unsafe_steps(&plan);
            if !bad.is_empty() {
                return Err(format!("steps block a large table while scanning or rewriting it: {bad:?}\n{text}"));
            }
        }
        Some("blocked") => {
            let code = expectation["blocker"].as_str().unwrap_or_default();
            if !plan.blockers.iter().any(|b| b.code.as_str() == code) {
                return Err(format!("expected blocker {code}:\n{text}"));
            }
            options.allow_downtime = true;
        }
        other => return Err(format!("unknown expectation {other:?}")),
    }
    let executed = planner::plan(&current, &desired, &options);
    let client = from.connect().await;
    for phase in &executed.phases {
        cutover_db_postgres::execute::run_phase(&client, phase)
            .await
            .map_err(|e| format!("phase {} failed: {e}\n{}", phase.name, planner::render_human(&executed)))?;
    }
    let after = common::read(&from).await?;
    let remaining = cutover_plan::diff(&after, &desired, &options.diff);
    if remaining.is_empty() {
        Ok(())
    } else {
        Err(format!("no convergence; still:\n{}\nafter:\n{}", remaining.to_sql(), planner::render_human(&executed)))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_strong_migrations_operation_is_planned_with_its_safe_recipe() {
    let expectations: Value =
        serde_json::from_str(&std::fs::read_to_string(corpus().join("plan_expectations.json")).unwrap()).unwrap();
    let mut slugs: Vec<String> = std::fs::read_dir(corpus())
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("unsafe.sql").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    slugs.sort();
    assert_eq!(slugs.len(), 26);
    let mut failures = Vec::new();
    for slug in &slugs {
        let expectation = &expectations[slug.as_str()];
        if expectation.is_null() {
            failures.push(format!("=== {slug} ===\nno expectation in plan_expectations.json"));
            continue;
        }
        if let Err(e) = check(slug, expectation).await {
            failures.push(format!("=== {slug} ===\n{e}"));
        }
    }
    assert!(failures.is_empty(), "{} operation(s) failed:\n\n{}", failures.len(), failures.join("\n\n"));
}
