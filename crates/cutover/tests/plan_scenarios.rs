//! Plan scenarios (tests/scenarios/plan/*.sql), one file each:
//!
//! ```sql
//! -- What the scenario shows, in one line.
//! -- facts: public.orders rows=12000000 bytes=1500000000; public.users rows=100
//! -- options: allow-downtime, pg-version=18, rename-column=public.users.fullname=full_name
//! -- before
//! CREATE TABLE ...;
//! -- data                 (optional: rows loaded into the current database)
//! INSERT ...;
//! -- after
//! CREATE TABLE ...;
//! -- old queries          (optional: must work before the plan and after every phase but contract)
//! SELECT ...;
//! -- new queries          (optional: must work after every phase; `-- new queries from
//!                          switch` for changes the new version can only use from then on)
//! SELECT ...;
//! ```
//!
//! The plan is rendered for humans and snapshotted (tests/snapshots/plan/), planned with the
//! scenario's facts (row counts and sizes, as a live database would report them). Then, on a
//! real server, the plan for the server's own version is applied phase by phase to the
//! `before` database with its data: old and new queries are run (and rolled back) at every
//! phase boundary, and after the last phase the schema must converge with `after`. A plan
//! with blockers is applied as planned with --allow-downtime, which must have none, unless
//! the scenario says `-- expect: blocked` (no plan can make the change; nothing is applied).
//! The catalogs read are checked against the scenario's recording (tests/recorded/plan/),
//! from which crates/plan/tests/recorded.rs checks the same snapshots without a server
//! (`CUTOVER_RECORD=1` records them again; `CUTOVER_SCENARIO=part` runs matching scenarios).

mod common;

use common::scenario::{self, Scenario, parse};

use cutover_plan::planner::{self, PhaseName};
use std::path::Path;

/// Runs each query in a rolled-back transaction; the first failure is reported.
async fn queries_work(db: &cutover_test_support::TestDb, queries: &str, when: &str) -> Result<(), String> {
    let client = db.connect().await;
    for q in cutover_sql::split::split(queries) {
        client.batch_execute("BEGIN").await.map_err(|e| e.to_string())?;
        let result = client.batch_execute(q.text).await;
        let _ = client.batch_execute("ROLLBACK").await;
        if let Err(e) = result {
            return Err(format!("{when}: `{}` failed: {}", q.text, cutover_db_postgres::error_text(&e)));
        }
    }
    Ok(())
}

/// `cutover verify` of the phases done so far passes: every postcondition holds.
async fn verify_passes(
    db: &cutover_test_support::TestDb,
    plan: &planner::Plan,
    done: &[PhaseName],
) -> Result<(), String> {
    use cutover_db_postgres::verify;
    let target = cutover_db_postgres::connect::Target::parse(&db.url()).map_err(|e| e.to_string())?;
    let file = cutover_db_postgres::apply::PlanFile { plan, checksum: "" };
    let config = verify::Config { phases: Some(done.to_vec()), ..Default::default() };
    let report = verify::verify(&target, file, &config).await.map_err(|e| e.to_string())?;
    if report.failed() > 0 {
        return Err(format!(
            "verify failed after {:?}:\n{}\n{}",
            done,
            report.render_human(),
            planner::render_human(plan)
        ));
    }
    Ok(())
}

async fn run(s: &Scenario) -> Result<String, String> {
    let from = common::db_with(&format!("{}\n{}", s.before, s.data), "before + data").await?;
    let to = common::db_with(&s.after, "after").await?;
    let (read, desired) = (common::read(&from).await?, common::read(&to).await?);
    scenario::record_or_check("plan", &s.name, &s.hash, &read, &desired)?;
    let current = scenario::with_facts(s, read);
    let rendered = scenario::render_plan(s, &current, &desired)?;
    if s.blocked {
        return Ok(rendered);
    }
    // What runs on this server: its own version, with downtime accepted if the plan is blocked.
    let (executed, options) = scenario::executed_plan(s, &current, &desired)?;
    queries_work(&from, &s.old_queries, "old queries before the plan").await?;
    let client = from.connect().await;
    let mut done = Vec::new();
    for phase in &executed.phases {
        cutover_db_postgres::execute::run_phase(&client, phase)
            .await
            .map_err(|e| format!("phase {} failed: {e}\n{}", phase.name, planner::render_human(&executed)))?;
        done.push(phase.name);
        verify_passes(&from, &executed, &done).await?;
        if s.new_from.is_none_or(|from| phase.name >= from) {
            queries_work(&from, &s.new_queries, &format!("new queries after {}", phase.name)).await?;
        }
        if phase.name != PhaseName::Contract {
            queries_work(&from, &s.old_queries, &format!("old queries after {}", phase.name)).await?;
        }
    }
    let after = common::read(&from).await?;
    let remaining = cutover_plan::diff(&after, &desired, &options.diff);
    if !remaining.is_empty() {
        return Err(format!(
            "no convergence: after the plan\n{}\nthe diff is still\n{}",
            planner::render_human(&executed),
            remaining.to_sql()
        ));
    }
    let (a, b) = (common::comparable(&after, &options.diff), common::comparable(&desired, &options.diff));
    if a != b {
        return Err(format!("the diff is empty but the models differ:\n{}", common::model_difference(&a, &b)));
    }
    Ok(rendered)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_plan_scenario_converges_phase_by_phase_and_matches_its_snapshot() {
    let paths = scenario::paths("plan");
    assert!(!paths.is_empty());

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
            (name, Ok(text)) => outputs.push((name, text)),
            (name, Err(e)) => failures.push(format!("=== {name} ===\n{e}")),
        }
    }
    assert!(failures.is_empty(), "{} scenario(s) failed:\n\n{}", failures.len(), failures.join("\n\n"));
    let snapshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/snapshots/plan");
    insta::with_settings!({ snapshot_path => snapshots, prepend_module_to_snapshot => false, omit_expression => true }, {
        for (name, text) in outputs {
            insta::assert_snapshot!(name, text);
        }
    });
}
