//! `cutover backfill` as users run it, on real PostgreSQL: the built binary fills a column of
//! a table with rows, is killed, paused, resumed and cancelled from other processes, and the
//! data is checked with checksums. Waits are polls with deadlines, never sleeps that hope;
//! runners are held at known points by a row lock or by the wait query.

mod common;

use common::backfill::{counted_table, key, plan};
use common::*;

use cutover_plan::planner::{self, Backfill, BackfillKey, PhaseName, Plan, PlanOptions};
use cutover_schema::QualName;
use cutover_test_support::{Client, TestDb};
use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

struct Case {
    db: TestDb,
    plan_path: PathBuf,
    _dir: tempfile::TempDir,
}

async fn case(setup: &str, plan: &Plan) -> Case {
    let db = common::db_with(setup, "setup.sql").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let plan_path = dir.path().join("plan.json");
    std::fs::write(&plan_path, serde_json::to_string_pretty(plan).unwrap()).unwrap();
    Case { db, plan_path, _dir: dir }
}

impl Case {
    fn command(&self, action: &str, extra: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_cutover"));
        cmd.args(["backfill", action, "--database", &self.db.url(), "--plan", self.plan_path.to_str().unwrap()])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        cmd
    }

    async fn cli(&self, action: &str, extra: &[&str]) -> Output {
        self.command(action, extra).output().await.expect("run cutover backfill")
    }

    /// (state, rows_done, batches, lock_timeouts) of the one backfill, if it started.
    async fn state(&self, client: &Client) -> Option<(String, i64, i64, i64)> {
        let exists: bool =
            client.query_one("SELECT to_regclass('cutover.backfills') IS NOT NULL", &[]).await.unwrap().get(0);
        if !exists {
            return None;
        }
        client
            .query_opt("SELECT state, rows_done, batches, lock_timeouts FROM cutover.backfills", &[])
            .await
            .unwrap()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
    }

    /// Kills a runner and its session (as when the machine running it goes away).
    async fn kill(&self, child: &mut tokio::process::Child, observer: &Client) {
        child.kill().await.unwrap();
        observer
            .batch_execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'cutover backfill' AND datname = current_database()",
            )
            .await
            .unwrap();
        wait_for("the runner's session to end", async || {
            observer
                .query_opt(
                    "SELECT 1 FROM pg_stat_activity WHERE application_name = 'cutover backfill' AND datname = current_database()",
                    &[],
                )
                .await
                .unwrap()
                .is_none()
        })
        .await;
    }
}

async fn checksum(client: &Client, sql: &str) -> String {
    client.query_one(sql, &[]).await.unwrap().get(0)
}

/// Every row's id, value and update count, in key order.
const ACTUAL: &str =
    "SELECT md5(string_agg(id || ':' || coalesce(new::text, '-') || ':' || touches, ',' ORDER BY id)) FROM t";
/// What they must be: `old * 2` exactly once where `old` is set, untouched elsewhere.
const EXPECTED: &str = "SELECT md5(string_agg(id || ':' || coalesce((old * 2)::text, '-') || ':' || (old IS NOT NULL)::int, ',' ORDER BY id)) FROM t";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_converges_reports_progress_and_a_second_run_does_nothing() {
    let c =
        case(&counted_table(20_000), &plan(key(&[("id", "bigint")]), "new", "old * 2", Some("old IS NOT NULL"))).await;
    let out =
        c.cli("run", &["--format", "json", "--progress-every", "1", "--min-batch", "500", "--max-batch", "4000"]).await;
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let events: Vec<serde_json::Value> =
        stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect();
    assert_eq!(events.first().unwrap()["event"], "started");
    assert_eq!(events.first().unwrap()["resumed"], false);
    let last = events.last().unwrap();
    assert_eq!(last["event"], "done", "{last}");
    assert_eq!(last["rows_done"], 20_000);
    assert_eq!(last["rows_updated"], 20_000 - 20_000 / 7);
    let progress: Vec<&serde_json::Value> = events.iter().filter(|e| e["event"] == "progress").collect();
    assert!(progress.len() >= 5, "{events:?}");
    for e in &progress {
        for field in ["rows_done", "rows_total_estimate", "rate", "eta_s", "batch_size"] {
            assert!(e.get(field).is_some_and(|v| !v.is_null()), "{field} in {e}");
        }
        let size = e["batch_size"].as_u64().unwrap();
        assert!((500..=4000).contains(&size), "{e}");
    }
    let done: Vec<u64> = progress.iter().map(|e| e["rows_done"].as_u64().unwrap()).collect();
    assert!(done.windows(2).all(|w| w[0] < w[1]), "{done:?}");
    let client = c.db.connect().await;
    assert_eq!(checksum(&client, ACTUAL).await, checksum(&client, EXPECTED).await);
    assert_eq!(c.state(&client).await.map(|s| s.0), Some("done".into()));

    let again = c.cli("run", &[]).await;
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert_eq!(
        stdout(&again),
        format!(
            "backfill backfill.1 of public.t done: 20,000 rows passed, 17,143 changed, in {} batches\n",
            progress.len()
        )
    );
    assert_eq!(checksum(&client, ACTUAL).await, checksum(&client, EXPECTED).await, "a second run changed rows");
    let status = c.cli("status", &[]).await;
    assert_eq!(status.status.code(), Some(0));
    assert!(
        stdout(&status).starts_with("backfill.1 public.t.new done: 20,000 of ~20,000 rows (100%), "),
        "{}",
        stdout(&status)
    );
    assert!(stdout(&status).contains("ETA 0 s"), "{}", stdout(&status));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_runner_is_resumed_with_nothing_lost_or_doubled() {
    let setup = format!("{}\nCREATE TABLE gate (); INSERT INTO gate DEFAULT VALUES;", counted_table(30_000));
    let c = case(&setup, &plan(key(&[("id", "bigint")]), "new", "old * 2", Some("old IS NOT NULL"))).await;
    let client = c.db.connect().await;
    let fixed = ["--min-batch", "500", "--max-batch", "500", "--lock-timeout-ms", "100"];

    // 1. Killed inside a batch: the batch covering id 15,000 waits for a row lock held here.
    let holder = c.db.connect().await;
    holder.batch_execute("BEGIN; SELECT * FROM t WHERE id = 15000 FOR UPDATE").await.unwrap();
    let mut child = c.command("run", &fixed).spawn().unwrap();
    wait_for("a batch to time out on the held row", async || c.state(&client).await.is_some_and(|s| s.3 >= 1)).await;
    wait_for("the next batch to wait on the held row", async || {
        client
            .query_opt(
                "SELECT 1 FROM pg_stat_activity WHERE application_name = 'cutover backfill' AND datname = current_database() AND wait_event_type = 'Lock'",
                &[],
            )
            .await
            .unwrap()
            .is_some()
    })
    .await;
    c.kill(&mut child, &client).await;
    holder.batch_execute("COMMIT").await.unwrap();
    let (state, rows_done, _, _) = c.state(&client).await.unwrap();
    assert_eq!((state.as_str(), rows_done), ("running", 14_500), "the cursor stopped before the held row");

    // 2. Killed between batches, held by the wait query after 20,000 rows.
    let wait = gate_query(20_000);
    let mut child = c.command("run", &[&fixed[..], &["--wait-query", &wait]].concat()).spawn().unwrap();
    wait_for("20,000 rows", async || c.state(&client).await.is_some_and(|s| s.1 >= 20_000)).await;
    c.kill(&mut child, &client).await;
    client.batch_execute("DELETE FROM gate").await.unwrap();
    assert_eq!(c.state(&client).await.map(|s| s.1), Some(20_000));

    // 3. Resumed to the end.
    let out = c.cli("run", &fixed).await;
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).starts_with("backfill backfill.1 of public.t (new): resuming at 20,000 of ~30,000 rows (66%), "),
        "{}",
        stdout(&out)
    );
    assert_eq!(checksum(&client, ACTUAL).await, checksum(&client, EXPECTED).await, "rows lost or updated twice");
    let (state, rows_done, _, _) = c.state(&client).await.unwrap();
    assert_eq!((state.as_str(), rows_done), ("done", 30_000));
}

/// Holds the runner once `rows_done` reaches `rows` for as long as `gate` has a row.
fn gate_query(rows: u64) -> String {
    format!("SELECT EXISTS (SELECT 1 FROM gate) AND (SELECT rows_done FROM cutover.backfills) >= {rows}")
}

async fn next_event(
    lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    event: &str,
) -> serde_json::Value {
    loop {
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for a {event} event"))
            .unwrap()
            .unwrap_or_else(|| panic!("the runner ended before a {event} event"));
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        if value["event"] == event {
            return value;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_paused_from_another_process_waits_and_resumes() {
    let setup = format!("{}\nCREATE TABLE gate (); INSERT INTO gate DEFAULT VALUES;", counted_table(10_000));
    let c = case(&setup, &plan(key(&[("id", "bigint")]), "new", "old * 2", Some("old IS NOT NULL"))).await;
    let client = c.db.connect().await;
    let wait = gate_query(2000);
    let args = ["--min-batch", "500", "--max-batch", "500", "--format", "json", "--wait-query", wait.as_str()];
    let mut child = c.command("run", &args).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let waiting = next_event(&mut lines, "waiting").await;
    assert_eq!(waiting["reason"], "the wait query says wait");

    let pause = c.cli("pause", &[]).await;
    assert_eq!(pause.status.code(), Some(0), "{}", stderr(&pause));
    assert!(stdout(&pause).starts_with("paused backfill backfill.1 of public.t (plan "), "{}", stdout(&pause));
    next_event(&mut lines, "paused").await;
    client.batch_execute("DELETE FROM gate").await.unwrap();
    let status = c.cli("status", &["--format", "json"]).await;
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["backfills"][0]["state"], "paused");
    assert_eq!(status["backfills"][0]["rows_done"], 2000);
    assert_eq!(status["backfills"][0]["cursor"], serde_json::json!(["2000"]));

    let again = c.cli("pause", &[]).await;
    assert_eq!(stdout(&again), "nothing to change: backfill.1 is paused\n");
    let resume = c.cli("resume", &[]).await;
    assert_eq!(resume.status.code(), Some(0), "{}", stderr(&resume));
    next_event(&mut lines, "resumed").await;
    let done = next_event(&mut lines, "done").await;
    assert_eq!(done["rows_done"], 10_000);
    let status = child.wait().await.unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(checksum(&client, ACTUAL).await, checksum(&client, EXPECTED).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_backfill_stops_and_runs_again_only_after_resume() {
    let setup = format!("{}\nCREATE TABLE gate (); INSERT INTO gate DEFAULT VALUES;", counted_table(5000));
    let c = case(&setup, &plan(key(&[("id", "bigint")]), "new", "old * 2", Some("old IS NOT NULL"))).await;
    let client = c.db.connect().await;
    let wait = gate_query(1000);
    let mut child = c
        .command("run", &["--min-batch", "500", "--max-batch", "500", "--format", "json", "--wait-query", &wait])
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    next_event(&mut lines, "waiting").await;
    let cancel = c.cli("cancel", &[]).await;
    assert_eq!(cancel.status.code(), Some(0), "{}", stderr(&cancel));
    let cancelled = next_event(&mut lines, "cancelled").await;
    assert_eq!(cancelled["rows_done"], 1000);
    let out = child.wait_with_output().await.unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "error: backfill backfill.1 of public.t was cancelled at 1,000 rows; `cutover backfill resume` lets it run again\n"
    );
    client.batch_execute("DELETE FROM gate").await.unwrap();
    let refused = c.cli("run", &[]).await;
    assert_eq!(refused.status.code(), Some(1), "{}", stdout(&refused));
    assert_eq!(c.state(&client).await.map(|s| (s.0, s.1)), Some(("cancelled".into(), 1000)));

    let resume = c.cli("resume", &[]).await;
    assert_eq!(resume.status.code(), Some(0), "{}", stderr(&resume));
    let out = c.cli("run", &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(checksum(&client, ACTUAL).await, checksum(&client, EXPECTED).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_with_a_composite_primary_key_is_walked_by_both_columns() {
    let setup =
        "CREATE TABLE t (tenant int, code text COLLATE \"C\", qty int, total numeric, PRIMARY KEY (tenant, code));
INSERT INTO t SELECT g % 13, 'c' || g, g, NULL FROM generate_series(1, 8000) g;
ANALYZE t;";
    let c = case(setup, &plan(key(&[("tenant", "integer"), ("code", "text")]), "total", "qty * 1.5", None)).await;
    let out = c.cli("run", &["--min-batch", "300", "--max-batch", "300", "--max-transaction-age-s", "3600"]).await;
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).ends_with("done: 8,000 rows passed, 8,000 changed, in 27 batches\n"), "{}", stdout(&out));
    let client = c.db.connect().await;
    let wrong: i64 =
        client.query_one("SELECT count(*) FROM t WHERE total IS DISTINCT FROM qty * 1.5", &[]).await.unwrap().get(0);
    assert_eq!(wrong, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_without_a_key_is_walked_by_page_ranges() {
    let setup = "CREATE TABLE t (old int, new bigint);
INSERT INTO t SELECT CASE WHEN g % 7 = 0 THEN NULL ELSE g END, NULL FROM generate_series(1, 20000) g;
ANALYZE t;";
    let c = case(setup, &plan(BackfillKey::Ctid, "new", "old * 2", Some("old IS NOT NULL"))).await;
    let client = c.db.connect().await;
    let out = c.cli("run", &["--min-batch", "1000", "--max-batch", "1000", "--progress-every", "5"]).await;
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    // Rows passed counts row versions met on the way: an updated row moved to a page the
    // walk has not reached yet is met again (and left alone); a pass stops at the pages the
    // table had when it began, so the new versions at its end are not walked.
    assert!(stdout(&out).contains(" rows passed, 17,143 changed, in "), "{}", stdout(&out));
    let passed: i64 = client.query_one("SELECT rows_done FROM cutover.backfills", &[]).await.unwrap().get(0);
    assert!((20_000..=21_000).contains(&passed), "{passed}");
    let left: i64 = client
        .query_one("SELECT count(*) FROM t WHERE old IS NOT NULL AND new IS DISTINCT FROM old * 2", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
    // A page range is read by a TID range scan, not the whole table.
    let spec = match &plan(BackfillKey::Ctid, "new", "old * 2", Some("old IS NOT NULL")).phases[0].steps[0].backfill {
        Some(Backfill { spec: Some(s), .. }) => s.clone(),
        _ => unreachable!(),
    };
    let explain = explain(&client, &spec.update_pages(), &[&"(10,0)", &"(20,0)"]).await;
    assert!(explain.contains("Tid Range Scan"), "{explain}");
}

async fn explain(client: &Client, sql: &str, params: &[&(dyn tokio_postgres::types::ToSql + Sync)]) -> String {
    let rows = client.query(&format!("EXPLAIN {sql}"), params).await.unwrap();
    rows.iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>().join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_reads_an_index_range_of_the_key_not_the_table() {
    let setup = "CREATE TABLE t (id bigint PRIMARY KEY, tenant int NOT NULL, old int, new bigint, UNIQUE (tenant, id));
INSERT INTO t SELECT g, g % 10, g, NULL FROM generate_series(1, 50000) g;
ANALYZE t;";
    let db = common::db_with(setup, "setup.sql").await.unwrap();
    let client = db.connect().await;
    for (key, lower, upper) in [
        (key(&[("id", "bigint")]), vec!["40000"], vec!["41000"]),
        (key(&[("tenant", "integer"), ("id", "bigint")]), vec!["3", "20000"], vec!["3", "30000"]),
    ] {
        let p = plan(key, "new", "old * 2", Some("old IS NOT NULL"));
        let Some(Backfill { spec: Some(spec), .. }) = &p.phases[0].steps[0].backfill else { unreachable!() };
        let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = Vec::new();
        for v in lower.iter().chain(&upper) {
            params.push(v);
        }
        let update = explain(&client, &spec.update_range(false), &params).await;
        // An index range (plain, or a bitmap of it when the estimate is rough): only the
        // batch's rows are read.
        assert!(update.contains("Index Scan using t_") || update.contains("Bitmap Index Scan on t_"), "{update}");
        assert!(update.contains("Index Cond: "), "{update}");
        assert!(!update.contains("Seq Scan"), "{update}");
        let limit = 1000i64;
        let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = Vec::new();
        for v in &lower {
            params.push(v);
        }
        params.push(&limit);
        let upper_bound = explain(&client, &spec.upper_bound(false), &params).await;
        assert!(
            upper_bound.contains("Index Only Scan using t_") || upper_bound.contains("Index Scan using t_"),
            "{upper_bound}"
        );
        assert!(!upper_bound.contains("Seq Scan"), "{upper_bound}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_runs_a_planned_backfill_on_the_engine() {
    let before = "CREATE TABLE t (id bigint PRIMARY KEY, name text);";
    let data =
        "INSERT INTO t SELECT g, CASE WHEN g % 5 = 0 THEN NULL ELSE 'n' || g END FROM generate_series(1, 3000) g;";
    let after = "CREATE TABLE t (id bigint PRIMARY KEY, full_name text);";
    let db = common::db_with(&format!("{before}\n{data}"), "before.sql").await.unwrap();
    let to = common::db_with(after, "after.sql").await.unwrap();
    let current = common::read(&db).await.unwrap();
    let desired = common::read(&to).await.unwrap();
    let options = PlanOptions {
        renames: vec![planner::ColumnRename {
            table: QualName::new("public", "t"),
            from: "name".into(),
            to: "full_name".into(),
        }],
        ..PlanOptions::default()
    };
    let plan = planner::plan(&current, &desired, &options);
    let backfill = plan.phase(PhaseName::Backfill).expect("a backfill phase");
    let spec = backfill.steps[0].backfill.as_ref().and_then(|b| b.spec.clone()).expect("the step carries its spec");
    assert_eq!(spec.key, key(&[("id", "bigint")]));
    assert_eq!((spec.column.as_str(), spec.expression.as_str()), ("full_name", "name"));
    assert_eq!(spec.only_where.as_deref(), Some("name IS NOT NULL"));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.json");
    std::fs::write(&path, serde_json::to_string_pretty(&plan).unwrap()).unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args([
            "apply",
            "--database",
            &db.url(),
            "--plan",
            path.to_str().unwrap(),
            "--phase",
            "expand",
            "--phase",
            "backfill",
        ])
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("done in"), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("(2,400 rows in 1 batches)") || stdout(&out).contains("(2400 rows in 1 batches)"),
        "{}",
        stdout(&out)
    );
    let client = db.connect().await;
    let wrong: i64 =
        client.query_one("SELECT count(*) FROM t WHERE full_name IS DISTINCT FROM name", &[]).await.unwrap().get(0);
    assert_eq!(wrong, 0);
    let row = client.query_one("SELECT state, rows_done, phase, step_index FROM cutover.backfills", &[]).await.unwrap();
    assert_eq!(
        (row.get::<_, String>(0), row.get::<_, i64>(1), row.get::<_, String>(2), row.get::<_, i32>(3)),
        ("done".to_string(), 3000, "backfill".to_string(), 1)
    );
    let step: String =
        client.query_one("SELECT state FROM cutover.steps WHERE phase = 'backfill'", &[]).await.unwrap().get(0);
    assert_eq!(step, "done");
}

/// The key the planner gives a backfill of `before`'s table `t` (a rename of `a` to `b`).
async fn planned_key(before: &str) -> BackfillKey {
    let db = common::db_with(&format!("{before}\nINSERT INTO t (a) VALUES ('x');"), "before.sql").await.unwrap();
    let after = before.replace(" a text", " b text");
    let to = common::db_with(&after, "after.sql").await.unwrap();
    let (current, desired) = (common::read(&db).await.unwrap(), common::read(&to).await.unwrap());
    let options = PlanOptions {
        renames: vec![planner::ColumnRename { table: QualName::new("public", "t"), from: "a".into(), to: "b".into() }],
        ..PlanOptions::default()
    };
    let plan = planner::plan(&current, &desired, &options);
    let Some(phase) = plan.phase(PhaseName::Backfill) else { panic!("{before}\n{}", planner::render_human(&plan)) };
    let step = &phase.steps[0];
    // A plan made before steps carried their spec still loads, without one.
    let mut json = serde_json::to_value(&plan).unwrap();
    for phase in json["phases"].as_array_mut().unwrap() {
        for step in phase["steps"].as_array_mut().unwrap() {
            if let Some(b) = step.get_mut("backfill").and_then(|b| b.as_object_mut()) {
                b.remove("spec");
            }
        }
    }
    let old: Plan = serde_json::from_value(json).unwrap();
    assert!(old.steps().all(|(_, s)| s.backfill.as_ref().is_none_or(|b| b.spec.is_none())));
    step.backfill.as_ref().and_then(|b| b.spec.as_ref()).expect("a spec").key.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_planner_walks_the_primary_key_else_a_unique_not_null_key_else_pages() {
    assert_eq!(
        planned_key("CREATE TABLE t (id int GENERATED ALWAYS AS IDENTITY, code text NOT NULL DEFAULT 'c' UNIQUE, a text, PRIMARY KEY (id));").await,
        key(&[("id", "integer")])
    );
    assert_eq!(
        planned_key("CREATE TABLE t (x int UNIQUE, code varchar(20) NOT NULL DEFAULT 'c', region int NOT NULL DEFAULT 1, a text, UNIQUE (region, code));").await,
        key(&[("region", "integer"), ("code", "character varying(20)")]),
        "a unique key with a nullable column cannot be walked"
    );
    assert_eq!(
        planned_key(
            "CREATE TABLE t (k uuid NOT NULL DEFAULT gen_random_uuid(), a text); CREATE UNIQUE INDEX t_k ON t (k);"
        )
        .await,
        key(&[("k", "uuid")])
    );
    assert_eq!(
        planned_key("CREATE TABLE t (k int NOT NULL DEFAULT 1, a text); CREATE UNIQUE INDEX t_k ON t (k) WHERE k > 0;")
            .await,
        BackfillKey::Ctid,
        "a partial index does not cover every row"
    );
    assert_eq!(planned_key("CREATE TABLE t (n int, a text);").await, BackfillKey::Ctid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_without_a_spec_or_a_matching_step_is_refused() {
    let mut old = plan(key(&[("id", "bigint")]), "new", "old * 2", None);
    let c = case(&counted_table(10), &old).await;
    let out = c.cli("run", &["--step", "backfill.2"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "error: backfill stopped: the plan has no backfill step backfill.2 (its backfill steps: backfill.1)\n"
    );
    let bad = c.cli("run", &["--step", "later.1"]).await;
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    old.phases[0].steps[0].backfill.as_mut().unwrap().spec = None;
    std::fs::write(&c.plan_path, serde_json::to_string(&old).unwrap()).unwrap();
    let out = c.cli("run", &[]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("the plan has no backfill step that the engine can run"), "{}", stderr(&out));
    let status = c.cli("status", &[]).await;
    assert_eq!(
        (status.status.code(), stdout(&status)),
        (Some(0), "no backfill has run on this database for this plan or step\n".to_string())
    );
    let pause = c.cli("pause", &[]).await;
    assert_eq!(pause.status.code(), Some(2));
    assert_eq!(stderr(&pause), "error: no backfill matches: none has started on this database for this plan or step\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runner_whose_session_is_terminated_connects_again_and_resumes() {
    let setup = format!("{}\nCREATE TABLE gate (); INSERT INTO gate DEFAULT VALUES;", counted_table(8000));
    let c = case(&setup, &plan(key(&[("id", "bigint")]), "new", "old * 2", Some("old IS NOT NULL"))).await;
    let client = c.db.connect().await;
    let wait = gate_query(3000);
    let mut child = c
        .command("run", &["--min-batch", "500", "--max-batch", "500", "--format", "json", "--wait-query", &wait])
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    next_event(&mut lines, "waiting").await;
    // As when the server restarts: the session ends under the runner.
    client
        .batch_execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'cutover backfill' AND datname = current_database()",
        )
        .await
        .unwrap();
    let reconnecting = next_event(&mut lines, "reconnecting").await;
    assert_eq!(reconnecting["attempt"], 1);
    client.batch_execute("DELETE FROM gate").await.unwrap();
    let done = next_event(&mut lines, "done").await;
    assert_eq!(done["rows_done"], 8000);
    assert_eq!(child.wait().await.unwrap().code(), Some(0));
    assert_eq!(checksum(&client, ACTUAL).await, checksum(&client, EXPECTED).await);
}

/// `counted_table` whose backfill expression takes at least `seconds` a row.
fn slow_table(n: u64, seconds: f64) -> String {
    format!(
        "{}\nCREATE FUNCTION slow_double(v int) RETURNS bigint LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep({seconds}); RETURN v * 2; END $$;",
        counted_table(n)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_past_its_statement_timeout_is_retried_at_half_its_size() {
    let c = case(
        &slow_table(600, 0.005),
        &plan(key(&[("id", "bigint")]), "new", "slow_double(old)", Some("old IS NOT NULL")),
    )
    .await;
    // At 5 ms or more a row that has `old` (six in seven), the plan's first batch of 1000
    // keys (all 600 rows: 515 slow ones, 2.6 s) and the next of 500 (429 slow ones, 2.1 s)
    // run past a 1.8 s timeout; 250 keys (215 slow ones) take about 1.1 s.
    let out = c
        .cli(
            "run",
            &["--format", "json", "--statement-timeout-ms", "1800", "--min-batch", "100", "--progress-every", "1"],
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let events: Vec<serde_json::Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let timeouts: Vec<(u64, u64, u64)> = events
        .iter()
        .filter(|e| e["event"] == "statement_timeout")
        .map(|e| {
            (
                e["rows"].as_u64().unwrap(),
                e["batch_size"].as_u64().unwrap(),
                e["statement_timeout_ms"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(timeouts, [(1000, 500, 1800), (500, 250, 1800)], "{}", stdout(&out));
    let progress: Vec<u64> =
        events.iter().filter(|e| e["event"] == "progress").map(|e| e["batch_size"].as_u64().unwrap()).collect();
    assert!(progress.iter().all(|s| *s <= 250), "it never grows back to a size that timed out: {progress:?}");
    let last = events.last().unwrap();
    assert_eq!((last["event"].as_str(), last["rows_done"].as_u64()), (Some("done"), Some(600)), "{last}");
    let client = c.db.connect().await;
    assert_eq!(checksum(&client, ACTUAL).await, checksum(&client, EXPECTED).await, "a rolled-back batch left rows");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_the_smallest_size_past_its_statement_timeout_stops_and_a_cancel_is_no_timeout() {
    let c = case(
        &slow_table(2000, 0.001),
        &plan(key(&[("id", "bigint")]), "new", "slow_double(old)", Some("old IS NOT NULL")),
    )
    .await;
    let client = c.db.connect().await;

    // A person cancels the batch (pg_cancel_backend): the same SQLSTATE as a timeout, long
    // before the timeout; the run stops instead of retrying smaller.
    let child = c.command("run", &["--min-batch", "1000", "--max-batch", "1000"]).spawn().unwrap();
    wait_for("the batch's UPDATE to run", async || {
        client
            .query_opt(
                "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'cutover backfill' \
                 AND datname = current_database() AND state = 'active' AND query LIKE 'UPDATE public.t %'",
                &[],
            )
            .await
            .unwrap()
            .is_some()
    })
    .await;
    let out = child.wait_with_output().await.unwrap();
    assert_eq!(out.status.code(), Some(1), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(
        stderr(&out),
        "error: backfill backfill.1 of public.t failed at 0 rows: ERROR: canceling statement due to user request; the cursor is kept: fix the cause and run again to resume\n"
    );

    // 100 rows take about 100 ms, past a 50 ms timeout: the size halves to the smallest, and
    // the run stops there.
    let out = c.cli("run", &["--statement-timeout-ms", "50", "--min-batch", "100"]).await;
    assert_eq!(out.status.code(), Some(1), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(
        stderr(&out),
        "error: backfill backfill.1 of public.t stopped at 0 rows: a batch of 100 rows, the smallest allowed (--min-batch), ran past its statement_timeout (50 ms); the cursor is kept: run again with a larger --statement-timeout-ms or a smaller --min-batch\n"
    );
    let text = stdout(&out);
    let sizes: Vec<&str> = text.lines().filter(|l| l.contains("statement_timeout")).collect();
    assert_eq!(
        sizes,
        [
            "  a batch of 1,000 rows ran past its statement_timeout (50 ms) and was rolled back; next batch 500 rows",
            "  a batch of 500 rows ran past its statement_timeout (50 ms) and was rolled back; next batch 250 rows",
            "  a batch of 250 rows ran past its statement_timeout (50 ms) and was rolled back; next batch 125 rows",
            "  a batch of 125 rows ran past its statement_timeout (50 ms) and was rolled back; next batch 100 rows",
        ],
        "{}",
        stdout(&out)
    );
    let (state, rows_done, batches, _) = c.state(&client).await.unwrap();
    assert_eq!((state.as_str(), rows_done, batches), ("running", 0, 0));
    let touched: i64 = client.query_one("SELECT count(*) FROM t WHERE touches > 0", &[]).await.unwrap().get(0);
    assert_eq!(touched, 0, "every timed-out batch was rolled back");

    // With room for a batch, the same backfill resumes and finishes.
    let out = c.cli("run", &["--statement-timeout-ms", "60000"]).await;
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).starts_with("backfill backfill.1 of public.t (new): starting, 0 of ~2,000 rows (0%), batch 100"),
        "{}",
        stdout(&out)
    );
    assert_eq!(checksum(&client, ACTUAL).await, checksum(&client, EXPECTED).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cursor_of_a_date_and_timestamptz_key_survives_a_datestyle_and_timezone_change() {
    // 600 rows keyed by (day, at), in key order with g; day changes every 40 rows.
    let setup = "CREATE TABLE t (day date, at timestamptz, g int NOT NULL, hour int, touches int NOT NULL DEFAULT 0, PRIMARY KEY (day, at));
CREATE FUNCTION count_touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.touches := OLD.touches + 1; RETURN NEW; END $$;
CREATE TRIGGER count_touch BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION count_touch();
INSERT INTO t (day, at, g) SELECT DATE '2024-01-01' + (g / 40) * 17, TIMESTAMPTZ '2024-01-01 00:00:00+00' + g * interval '13 minutes', g FROM generate_series(1, 600) g;
CREATE TABLE gate (); INSERT INTO gate DEFAULT VALUES;
ANALYZE t;";
    // The expression reads the hour in the session's TimeZone: it must see the database's.
    let p =
        plan(key(&[("day", "date"), ("at", "timestamp with time zone")]), "hour", "extract(hour FROM at)::int", None);
    let c = case(setup, &p).await;
    let client = c.db.connect().await;
    let set = |datestyle: &str, zone: &str| {
        format!(
            "ALTER DATABASE {} SET DateStyle = '{datestyle}'; ALTER DATABASE {} SET TimeZone = '{zone}'",
            c.db.name, c.db.name
        )
    };
    // Day first, and a zone whose abbreviation (IST) means another zone when read back.
    client.batch_execute(&set("SQL, DMY", "Asia/Kolkata")).await.unwrap();
    let fixed = ["--min-batch", "100", "--max-batch", "100"];
    let wait = gate_query(300);
    let mut child = c.command("run", &[&fixed[..], &["--wait-query", &wait]].concat()).spawn().unwrap();
    wait_for("300 rows", async || c.state(&client).await.is_some_and(|s| s.1 >= 300)).await;
    c.kill(&mut child, &client).await;
    let cursor: String = client.query_one("SELECT cursor::text FROM cutover.backfills", &[]).await.unwrap().get(0);
    assert_eq!(cursor, r#"["2024-04-29", "2024-01-03 17:00:00+00"]"#, "the cursor is printed in ISO 8601, in UTC");

    // Month first, another zone: the cursor still means row 300.
    client.batch_execute(&set("SQL, MDY", "America/New_York")).await.unwrap();
    client.batch_execute("DELETE FROM gate").await.unwrap();
    let out = c.cli("run", &fixed).await;
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).ends_with("done: 600 rows passed, 600 changed, in 6 batches\n"), "{}", stdout(&out));
    let wrong: i64 = client
        .query_one(
            "SELECT count(*) FROM t WHERE touches <> 1 OR hour IS DISTINCT FROM extract(hour FROM at AT TIME ZONE \
             CASE WHEN g <= 300 THEN 'Asia/Kolkata' ELSE 'America/New_York' END)::int",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(wrong, 0, "a row was skipped, updated twice, or filled in another zone than the session's");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_terminal_run_draws_a_bar_with_the_rate_and_why_it_waits() {
    let setup = format!("{}\nCREATE TABLE gate (); INSERT INTO gate DEFAULT VALUES;", counted_table(20_000));
    let c = case(&setup, &plan(key(&[("id", "bigint")]), "new", "old * 2", Some("old IS NOT NULL"))).await;
    let client = c.db.connect().await;
    // `script` runs the command on a pseudo-terminal, as from a person's shell.
    let command = format!(
        "{} backfill run --database '{}' --plan '{}' --min-batch 500 --max-batch 500 --wait-query '{}'",
        env!("CARGO_BIN_EXE_cutover"),
        c.db.url(),
        c.plan_path.display(),
        gate_query(5000)
    );
    let mut child = tokio::process::Command::new("script")
        .args(["-qefc", &command, "/dev/null"])
        .env("TERM", "xterm")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run script (util-linux)");
    let mut out = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let waiting = "5,000 of ~20,000 rows (25%), ";
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !String::from_utf8_lossy(&seen).contains("; waiting: the wait query says wait") {
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout_at(deadline.into(), tokio::io::AsyncReadExt::read(&mut out, &mut chunk))
            .await
            .unwrap_or_else(|_| panic!("no waiting bar in {:?}", String::from_utf8_lossy(&seen)))
            .unwrap();
        assert!(n > 0, "the runner ended: {:?}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&chunk[..n]);
    }
    client.batch_execute("DELETE FROM gate").await.unwrap();
    tokio::io::AsyncReadExt::read_to_end(&mut out, &mut seen).await.unwrap();
    assert_eq!(child.wait().await.unwrap().code(), Some(0));
    let text = String::from_utf8_lossy(&seen).into_owned();
    // The bar: the step, the bar itself, the engine's numbers; redrawn in place.
    assert!(text.contains("backfill backfill.1 of public.t (new) ["), "{text:?}");
    assert!(text.contains(&format!("] {waiting}")), "{text:?}");
    assert!(text.contains(" rows/s, ETA "), "{text:?}");
    assert!(text.contains("\u{1b}["), "drawn with terminal escapes: {text:?}");
    // Lines above it: the start, and at the end the summary; no progress lines.
    assert!(
        text.contains("backfill backfill.1 of public.t (new): starting, 0 of ~20,000 rows (0%), batch 500"),
        "{text:?}"
    );
    assert!(
        text.contains("backfill backfill.1 of public.t done: 20,000 rows passed, 17,143 changed, in 40 batches"),
        "{text:?}"
    );
    assert!(!text.contains("\n  5,000 of ~20,000"), "{text:?}");
    assert_eq!(checksum(&client, ACTUAL).await, checksum(&client, EXPECTED).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_runs_its_backfill_steps_with_the_engine_flags() {
    let before = "CREATE TABLE t (id bigint PRIMARY KEY, name text);";
    let data = "INSERT INTO t SELECT g, 'n' || g FROM generate_series(1, 3000) g; ANALYZE t;";
    let after = "CREATE TABLE t (id bigint PRIMARY KEY, full_name text);";
    let db = common::db_with(&format!("{before}\n{data}"), "before.sql").await.unwrap();
    let to = common::db_with(after, "after.sql").await.unwrap();
    let (current, desired) = (common::read(&db).await.unwrap(), common::read(&to).await.unwrap());
    let options = PlanOptions {
        renames: vec![planner::ColumnRename {
            table: QualName::new("public", "t"),
            from: "name".into(),
            to: "full_name".into(),
        }],
        ..PlanOptions::default()
    };
    let plan = planner::plan(&current, &desired, &options);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.json");
    std::fs::write(&path, serde_json::to_string_pretty(&plan).unwrap()).unwrap();
    let apply = async |extra: &[&str]| {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_cutover"))
            .args(["apply", "--database", &db.url(), "--plan", path.to_str().unwrap()])
            .args(["--phase", "expand", "--phase", "backfill"])
            .args(extra)
            .stdin(Stdio::null())
            .output()
            .await
            .unwrap()
    };
    let bad = apply(&["--min-batch", "500", "--max-batch", "100"]).await;
    assert_eq!(bad.status.code(), Some(2), "{}{}", stdout(&bad), stderr(&bad));
    assert_eq!(stderr(&bad), "error: --min-batch (500) is larger than --max-batch (100)\n");
    let out =
        apply(&["--min-batch", "250", "--max-batch", "250", "--progress-every", "4", "--max-replica-lag-ms", "0"])
            .await;
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.contains(" 1,000 of ~3,000 rows (33%), "), "a progress line every 4 batches of 250: {text}");
    assert!(text.contains(" 2,000 of ~3,000 rows (66%), "), "{text}");
    assert!(text.contains("(3000 rows in 12 batches)"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_terminal_apply_draws_a_bar_for_a_backfill_step() {
    let before = "CREATE TABLE t (id bigint PRIMARY KEY, name text);";
    let data = "INSERT INTO t SELECT g, 'n' || g FROM generate_series(1, 3000) g; ANALYZE t;";
    let after = "CREATE TABLE t (id bigint PRIMARY KEY, full_name text);";
    let db = common::db_with(&format!("{before}\n{data}"), "before.sql").await.unwrap();
    let to = common::db_with(after, "after.sql").await.unwrap();
    let (current, desired) = (common::read(&db).await.unwrap(), common::read(&to).await.unwrap());
    let options = PlanOptions {
        renames: vec![planner::ColumnRename {
            table: QualName::new("public", "t"),
            from: "name".into(),
            to: "full_name".into(),
        }],
        ..PlanOptions::default()
    };
    let plan = planner::plan(&current, &desired, &options);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.json");
    std::fs::write(&path, serde_json::to_string_pretty(&plan).unwrap()).unwrap();
    let command = format!(
        "{} apply --database '{}' --plan '{}' --phase expand --phase backfill --min-batch 300 --max-batch 300",
        env!("CARGO_BIN_EXE_cutover"),
        db.url(),
        path.display()
    );
    let out = tokio::process::Command::new("script")
        .args(["-qefc", &command, "/dev/null"])
        .env("TERM", "xterm")
        .stdin(Stdio::null())
        .output()
        .await
        .expect("run script (util-linux)");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text:?}");
    // The step's line, the bar below it (redrawn with escapes, cleared at the end), then
    // the step's end on a line of its own.
    assert!(text.contains("phase 2/3 backfill, step 1/1: UPDATE public.t SET full_name = name"), "{text:?}");
    assert!(text.contains("  backfill ["), "{text:?}");
    // indicatif redraws at most ~20 times a second, so which states are drawn depends on
    // the machine's speed; some state after the first batch is.
    assert!(text.contains("00 of ~3,000 rows ("), "{text:?}");
    assert!(text.contains("\u{1b}["), "{text:?}");
    assert!(text.contains("  done in "), "{text:?}");
    assert!(text.contains(" (3000 rows in 10 batches)"), "{text:?}");
    assert!(!text.contains("... 300 of ~3,000 rows"), "no progress lines on a terminal: {text:?}");
}

/// Writes that wait on a batch's row locks longer than `--max-writer-wait-ms` make the
/// batches aim shorter: a writer locks a row at the start of the batch in flight again and
/// again (as an application's UPDATE would), the engine sees it waiting before each commit,
/// says so and shortens its batches; every row is still filled exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_kept_waiting_by_a_batch_make_the_batches_shorter() {
    let c = case(
        &slow_table(1500, 0.002),
        &plan(key(&[("id", "bigint")]), "new", "slow_double(old)", Some("old IS NOT NULL")),
    )
    .await;
    let child = c
        .command(
            "run",
            &[
                "--format",
                "json",
                "--target-batch-ms",
                "400",
                "--min-batch",
                "10",
                "--max-writer-wait-ms",
                "100",
                "--progress-every",
                "1",
            ],
        )
        .spawn()
        .unwrap();
    let writer = c.db.connect().await;
    let run = tokio::spawn(async move { child.wait_with_output().await.unwrap() });
    let mut writes = 0;
    while !run.is_finished() {
        // A row the batch in flight locked early on: this write waits for its commit.
        let next: Option<i64> = writer
            .query_opt(
                "SELECT coalesce((cursor->>0)::bigint, 0) + 2 FROM cutover.backfills WHERE state = 'running'",
                &[],
            )
            .await
            .ok()
            .flatten()
            .map(|r| r.get(0));
        if let Some(id) = next {
            writer.query("SELECT 1 FROM t WHERE id = $1 FOR UPDATE", &[&id]).await.unwrap();
            writes += 1;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let out = run.await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert!(writes > 0);
    let events: Vec<serde_json::Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let waited: Vec<&serde_json::Value> = events.iter().filter(|e| e["event"] == "writers_waited").collect();
    assert!(!waited.is_empty(), "no writers_waited event in:\n{}", stdout(&out));
    for e in &waited {
        assert!(e["longest_wait_ms"].as_u64().unwrap() > 100, "{e}");
        // Four fifths of the bound.
        assert_eq!(e["target_batch_ms"].as_u64(), Some(80), "{e}");
        assert!(e["writers"].as_u64().unwrap() >= 1, "{e}");
    }
    let first = waited[0]["batch_size"].as_u64().unwrap();
    let sizes: Vec<u64> =
        events.iter().filter(|e| e["event"] == "progress").map(|e| e["batch_size"].as_u64().unwrap()).collect();
    assert!(first < sizes[0].max(200), "the batch after the wait is smaller: {first} after {sizes:?}");
    let last = events.last().unwrap();
    assert_eq!((last["event"].as_str(), last["rows_done"].as_u64()), (Some("done"), Some(1500)), "{last}");
    let client = c.db.connect().await;
    assert_eq!(checksum(&client, ACTUAL).await, checksum(&client, EXPECTED).await);
}
