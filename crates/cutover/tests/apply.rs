//! `cutover apply` as users run it, on real PostgreSQL: a plan made by the planner from two
//! schemas is applied to a fresh database with rows; state is checked in `cutover.steps`.
//! Waits are polls with deadlines, never sleeps that hope.

mod common;

use common::*;

use cutover_plan::planner::{self, Plan, PlanOptions};
use cutover_test_support::{Client, TestDb};
use std::path::PathBuf;
use std::process::{Output, Stdio};

/// A database in the `before` state with `data`, and the plan (written to a file) that
/// takes it to `after`.
struct Case {
    db: TestDb,
    desired: cutover_schema::Catalog,
    plan: Plan,
    plan_path: PathBuf,
    _dir: tempfile::TempDir,
}

async fn case(before: &str, data: &str, after: &str, options: PlanOptions) -> Case {
    let db = common::db_with(&format!("{before}\n{data}"), "before.sql").await.unwrap();
    let to = common::db_with(after, "after.sql").await.unwrap();
    let current = common::read(&db).await.unwrap();
    let desired = common::read(&to).await.unwrap();
    let plan = planner::plan(&current, &desired, &options);
    assert!(plan.blockers.is_empty(), "{}", planner::render_human(&plan));
    let dir = tempfile::tempdir().unwrap();
    let plan_path = dir.path().join("plan.json");
    std::fs::write(&plan_path, serde_json::to_string_pretty(&plan).unwrap()).unwrap();
    Case { db, desired, plan, plan_path, _dir: dir }
}

impl Case {
    fn command(&self, extra: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_cutover"));
        cmd.args(["apply", "--database", &self.db.url(), "--plan", self.plan_path.to_str().unwrap()])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        cmd
    }

    async fn apply(&self, extra: &[&str]) -> Output {
        self.command(extra).output().await.expect("run cutover apply")
    }

    /// (phase, step_index, state, attempts) of every step, in plan order.
    async fn steps(&self) -> Vec<(String, i32, String, i32)> {
        let client = self.db.connect().await;
        let rows = client
            .query(
                "SELECT phase, step_index, state, attempts FROM cutover.steps ORDER BY \
                 array_position(ARRAY['expand','backfill','switch','contract'], phase), step_index",
                &[],
            )
            .await
            .unwrap();
        rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect()
    }

    async fn converged(&self) -> bool {
        let after = common::read(&self.db).await.unwrap();
        cutover_plan::diff(&after, &self.desired, &Default::default()).is_empty()
    }
}

/// A session with an application_name, to hold locks the way another client would.
async fn session(db: &TestDb, application_name: &str) -> (Client, i32) {
    let client = db.connect().await;
    client.batch_execute(&format!("SET application_name = '{application_name}'")).await.unwrap();
    let pid: i32 = client.query_one("SELECT pg_backend_pid()", &[]).await.unwrap().get(0);
    (client, pid)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multi_phase_plan_converges_and_a_second_run_skips_every_step() {
    let c = case(SHOP_BEFORE, SHOP_DATA, SHOP_AFTER, PlanOptions::default()).await;
    let names: Vec<&str> = c.plan.phases.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["expand", "switch", "contract"], "{}", planner::render_human(&c.plan));
    let out = c.apply(&["--yes"]).await;
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("phase 1/3 expand, step 1/"), "{text}");
    assert!(
        text.contains("phase 3/3 contract, step 1/1: ALTER TABLE public.orders DROP COLUMN legacy ... done in"),
        "{text}"
    );
    assert!(c.converged().await, "the database does not match the desired schema after apply");
    let steps = c.steps().await;
    let total: usize = c.plan.phases.iter().map(|p| p.steps.len()).sum();
    assert_eq!(steps.len(), total);
    assert!(steps.iter().all(|s| s.2 == "done" && s.3 == 1), "{steps:?}");

    let again = c.apply(&["--yes"]).await;
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert_eq!(stdout(&again).matches("... already done\n").count(), total, "{}", stdout(&again));
    assert!(c.steps().await.iter().all(|s| s.2 == "done" && s.3 == 1), "a done step ran again");
    let client = c.db.connect().await;
    let runs: Vec<(String, String)> = client
        .query("SELECT outcome, application_name FROM cutover.runs ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(runs, [("done".to_string(), "cutover apply".to_string()), ("done".into(), "cutover apply".into())]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_step_stops_the_run_and_the_next_run_resumes_after_the_done_steps() {
    let c = case(
        "CREATE TABLE t (id bigint PRIMARY KEY, qty int);",
        "INSERT INTO t SELECT g, g FROM generate_series(1, 100) g; INSERT INTO t VALUES (0, -1);",
        "CREATE TABLE t (id bigint PRIMARY KEY, qty int, note text, CONSTRAINT qty_positive CHECK (qty > 0));",
        PlanOptions::default(),
    )
    .await;
    let out = c.apply(&[]).await;
    assert_eq!(out.status.code(), Some(1), "{}{}", stdout(&out), stderr(&out));
    let err = stderr(&out);
    assert_eq!(
        err,
        "error: phase 2/2 switch, step 1/1 failed: `ALTER TABLE public.t VALIDATE CONSTRAINT qty_positive`: \
         ERROR: check constraint \"qty_positive\" of relation \"t\" is violated by some row; cutover.steps marks it \
         failed: fix the cause and run the same command again to resume from it\n"
    );
    let steps = c.steps().await;
    assert!(steps.iter().filter(|s| s.0 == "expand").all(|s| s.2 == "done"), "{steps:?}");
    assert_eq!(steps.iter().find(|s| s.0 == "switch").map(|s| (s.2.as_str(), s.3)), Some(("failed", 1)));

    c.db.connect().await.batch_execute("UPDATE t SET qty = 1 WHERE qty <= 0").await.unwrap();
    let again = c.apply(&[]).await;
    assert_eq!(again.status.code(), Some(0), "{}{}", stdout(&again), stderr(&again));
    let expand_steps = c.plan.phases[0].steps.len();
    assert_eq!(stdout(&again).matches("... already done\n").count(), expand_steps, "{}", stdout(&again));
    let steps = c.steps().await;
    assert!(steps.iter().filter(|s| s.0 == "expand").all(|s| s.2 == "done" && s.3 == 1), "{steps:?}");
    assert_eq!(steps.iter().find(|s| s.0 == "switch").map(|s| (s.2.as_str(), s.3)), Some(("done", 2)));
    assert!(c.converged().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_runner_is_refused_with_who_holds_the_lock() {
    let c = case(SHOP_BEFORE, SHOP_DATA, SHOP_AFTER, PlanOptions::default()).await;
    let (holder, pid) = session(&c.db, "the other runner").await;
    holder.query_one("SELECT pg_advisory_lock($1)", &[&cutover_sql::apply::RUNNER_LOCK_KEY]).await.unwrap();
    let out = c.apply(&["--yes"]).await;
    assert_eq!(out.status.code(), Some(2), "{}{}", stdout(&out), stderr(&out));
    let err = stderr(&out);
    assert!(
        err.starts_with(&format!(
            "error: another runner is applying a plan to this database: pid {pid} (application_name 'the other runner', user postgres, client 127.0.0.1) has held the runner lock since it connected at "
        )),
        "{err}"
    );
    assert!(err.trim_end().ends_with("UTC; wait for it to finish, or stop it"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let client = c.db.connect().await;
    let created: bool = client.query_one("SELECT to_regclass('cutover.steps') IS NOT NULL", &[]).await.unwrap().get(0);
    assert!(!created, "the refused runner created its state");
}

/// A plan whose first step needs ACCESS EXCLUSIVE on orders, with a short lock_timeout.
async fn locked_case() -> Case {
    let options = PlanOptions { lock_timeout_ms: 200, ..PlanOptions::default() };
    case(
        "CREATE TABLE orders (id bigint PRIMARY KEY);",
        "INSERT INTO orders SELECT generate_series(1, 10);",
        "CREATE TABLE orders (id bigint PRIMARY KEY, note text);",
        options,
    )
    .await
}

async fn attempts(db: &TestDb) -> i32 {
    let client = db.connect().await;
    match client.query_opt("SELECT attempts FROM cutover.steps WHERE phase = 'expand' AND step_index = 1", &[]).await {
        Ok(Some(row)) => row.get(0),
        _ => 0, // the state is not created yet
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_timeout_is_retried_until_the_lock_is_free() {
    let c = locked_case().await;
    let (blocker, _) = session(&c.db, "apply-test-blocker").await;
    blocker.batch_execute("BEGIN").await.unwrap();
    blocker.batch_execute("LOCK TABLE public.orders IN ACCESS SHARE MODE").await.unwrap();
    let child = c.command(&["--lock-retries", "50", "--lock-retry-wait-ms", "50"]).spawn().unwrap();
    wait_for("a second try", async || attempts(&c.db).await >= 2).await;
    blocker.batch_execute("ROLLBACK").await.unwrap();
    let out = child.wait_with_output().await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains(" lock_timeout (200 ms) expired on try 1/50, next try in "), "{}", stdout(&out));
    assert!(c.converged().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_timeout_that_keeps_expiring_stops_the_run_naming_the_blocker() {
    let c = locked_case().await;
    let (blocker, pid) = session(&c.db, "apply-test-blocker").await;
    blocker.batch_execute("BEGIN").await.unwrap();
    blocker.batch_execute("LOCK TABLE public.orders IN ACCESS SHARE MODE").await.unwrap();
    let out = c.apply(&["--lock-retries", "3", "--lock-retry-wait-ms", "50"]).await;
    assert_eq!(out.status.code(), Some(1), "{}{}", stdout(&out), stderr(&out));
    let err = stderr(&out);
    assert!(
        err.starts_with("error: phase 1/1 expand, step 1/1: `ALTER TABLE public.orders ADD COLUMN note text` could not get its locks in 3 tries (lock_timeout up to 800 ms): "),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "it was blocked by pid {pid} (application_name 'apply-test-blocker', idle in transaction, client 127.0.0.1) running or last running `LOCK TABLE public.orders IN ACCESS SHARE MODE`"
        )),
        "{err}"
    );
    assert_eq!(c.steps().await, [("expand".to_string(), 1, "failed".to_string(), 3)]);
    blocker.batch_execute("ROLLBACK").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_index_left_by_a_failed_concurrent_build_is_dropped_and_built_again() {
    let c = case(
        "CREATE TABLE users (id bigint PRIMARY KEY, email text);",
        "INSERT INTO users SELECT g, 'u' || g FROM generate_series(1, 100) g; INSERT INTO users VALUES (0, 'u1');",
        "CREATE TABLE users (id bigint PRIMARY KEY, email text);\nCREATE UNIQUE INDEX users_email_key ON users (email);",
        PlanOptions::default(),
    )
    .await;
    assert_eq!(
        c.plan.phases[0].steps[0].builds_index,
        Some(cutover_schema::QualName::new("public", "users_email_key")),
        "the planner records the index a concurrent build makes"
    );
    // The build fails on the duplicate and leaves an INVALID index.
    let out = c.apply(&[]).await;
    assert_eq!(out.status.code(), Some(1), "{}{}", stdout(&out), stderr(&out));
    let client = c.db.connect().await;
    let valid = "SELECT indisvalid FROM pg_index WHERE indexrelid = 'public.users_email_key'::regclass";
    assert!(!client.query_one(valid, &[]).await.unwrap().get::<_, bool>(0));
    // As if the runner had been killed during the build: its run and step still say running.
    client
        .batch_execute(
            "UPDATE cutover.steps SET state = 'running', error = NULL; UPDATE cutover.runs SET outcome = 'running', finished_at = NULL",
        )
        .await
        .unwrap();
    client.batch_execute("DELETE FROM users WHERE id = 0").await.unwrap();
    let again = c.apply(&[]).await;
    assert_eq!(again.status.code(), Some(0), "{}{}", stdout(&again), stderr(&again));
    assert!(
        stdout(&again).contains(
            "step 1/1: CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON public.users USING btree (email) ... dropped the INVALID index public.users_email_key an earlier try left ... done in"
        ),
        "{}",
        stdout(&again)
    );
    assert!(client.query_one(valid, &[]).await.unwrap().get::<_, bool>(0));
    let outcomes: Vec<String> = client
        .query("SELECT outcome FROM cutover.runs ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(outcomes, ["interrupted", "done"]);
    assert!(c.converged().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_contract_phase_needs_yes_without_a_terminal() {
    let c = case(SHOP_BEFORE, SHOP_DATA, SHOP_AFTER, PlanOptions::default()).await;
    let out = c.apply(&[]).await;
    assert_eq!(out.status.code(), Some(2), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(
        stderr(&out),
        "error: the contract phase needs --yes: there is no terminal to confirm it on (it removes what the previous application version used)\n"
    );
    assert_eq!(stdout(&out), "");
    // Without the contract phase nothing needs confirming.
    let out = c.apply(&["--phase", "expand", "--phase", "switch"]).await;
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phase_whose_earlier_phases_are_not_done_is_refused() {
    let c = case(SHOP_BEFORE, SHOP_DATA, SHOP_AFTER, PlanOptions::default()).await;
    let out = c.apply(&["--phase", "switch"]).await;
    assert_eq!(out.status.code(), Some(2), "{}{}", stdout(&out), stderr(&out));
    let expand = c.plan.phases[0].steps.len();
    assert_eq!(
        stderr(&out),
        format!(
            "error: the expand phase must be done before switch, and 0 of its {expand} steps are: run it first, or select it too (--phase expand)\n"
        )
    );
    let out = c.apply(&["--phase", "switch", "--phase", "expand"]).await;
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let out = c.apply(&["--phase", "contract", "--yes"]).await;
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert!(c.converged().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_prints_states_and_sql_and_changes_nothing() {
    let c = case(SHOP_BEFORE, SHOP_DATA, SHOP_AFTER, PlanOptions::default()).await;
    let before = common::read(&c.db).await.unwrap();
    let out = c.apply(&["--dry-run"]).await;
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("the database has no cutover schema yet"), "{text}");
    assert!(
        text.contains("phase 3/3 contract, step 1/1: pending\n    ALTER TABLE public.orders DROP COLUMN legacy\n"),
        "{text}"
    );
    let client = c.db.connect().await;
    let created: bool = client.query_one("SELECT to_regclass('cutover.steps') IS NOT NULL", &[]).await.unwrap().get(0);
    assert!(!created, "the dry run created the cutover schema");
    assert_eq!(common::read(&c.db).await.unwrap(), before, "the dry run changed the schema");

    let out = c.apply(&["--phase", "expand"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let steps_before = c.steps().await;
    let out = c.apply(&["--dry-run", "--phase", "expand", "--phase", "switch"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("phase 1/3 expand, step 1/"), "{text}");
    assert_eq!(text.matches(": done\n").count(), c.plan.phases[0].steps.len(), "{text}");
    assert!(text.contains("phase 2/3 switch, step 1/1: pending\n"), "{text}");
    assert_eq!(c.steps().await, steps_before, "the dry run changed the state");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_drifted_since_the_plan_is_refused_before_anything_runs() {
    let c = case(SHOP_BEFORE, SHOP_DATA, SHOP_AFTER, PlanOptions::default()).await;
    assert_eq!(
        c.plan.relations.keys().collect::<Vec<_>>(),
        ["public.customers", "public.orders"],
        "the plan records the tables its steps lock"
    );
    let client = c.db.connect().await;
    client
        .batch_execute("ALTER TABLE orders ADD COLUMN extra int; CREATE INDEX orders_extra ON orders (extra)")
        .await
        .unwrap();
    let expected = "error: the database has changed since the plan was made: the columns and indexes of public.orders \
                    changed; plan again against the database as it is now\n";
    let out = c.apply(&["--yes"]).await;
    assert_eq!(out.status.code(), Some(2), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(stderr(&out), expected);
    let created: bool = client.query_one("SELECT to_regclass('cutover.steps') IS NOT NULL", &[]).await.unwrap().get(0);
    assert!(!created, "a refused run created its state");
    let dry = c.apply(&["--dry-run"]).await;
    assert_eq!(dry.status.code(), Some(2), "{}", stderr(&dry));
    assert_eq!(stderr(&dry), format!("error: apply would refuse: {}", &expected["error: ".len()..]));
    // Back to the planned shape, the plan runs.
    client.batch_execute("DROP INDEX orders_extra; ALTER TABLE orders DROP COLUMN extra").await.unwrap();
    let out = c.apply(&["--yes"]).await;
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert!(c.converged().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runner_killed_during_a_concurrent_build_is_resumed_by_the_next_run() {
    // A long lock_timeout: the build waits for the writer below instead of timing out.
    let options = PlanOptions { lock_timeout_ms: 600_000, ..PlanOptions::default() };
    let c = case(
        "CREATE TABLE users (id bigint PRIMARY KEY, email text);",
        "INSERT INTO users SELECT g, 'u' || g FROM generate_series(1, 100) g;",
        "CREATE TABLE users (id bigint PRIMARY KEY, email text);\nCREATE INDEX users_email ON users (email);",
        options,
    )
    .await;
    // An open writing transaction: CREATE INDEX CONCURRENTLY creates its (INVALID) index,
    // then waits for it to end.
    let (writer, _) = session(&c.db, "apply-test-writer").await;
    writer.batch_execute("BEGIN").await.unwrap();
    writer.batch_execute("INSERT INTO users VALUES (1000, 'w')").await.unwrap();
    let child = c.command(&[]).spawn().unwrap();
    let observer = c.db.connect().await;
    // The build waits with its INVALID index; the runner dies, and its session with it (as
    // when the machine running it goes away).
    kill_while_waiting(
        child,
        &observer,
        "SELECT 1 FROM pg_index i WHERE i.indexrelid = to_regclass('public.users_email') AND NOT i.indisvalid",
    )
    .await;
    writer.batch_execute("COMMIT").await.unwrap();
    assert_eq!(c.steps().await, [("expand".to_string(), 1, "running".to_string(), 1)]);

    let out = c.apply(&[]).await;
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("... dropped the INVALID index public.users_email an earlier try left ... done in"),
        "{}",
        stdout(&out)
    );
    assert_eq!(c.steps().await, [("expand".to_string(), 1, "done".to_string(), 2)]);
    let outcomes: Vec<String> = observer
        .query("SELECT outcome FROM cutover.runs ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(outcomes, ["interrupted", "done"]);
    assert!(c.converged().await);
}

/// Marks a step as a runner killed during it leaves it: `running`, with its run `running`.
async fn left_running(db: &TestDb, phase: &str, index: i32) {
    let client = db.connect().await;
    client
        .execute(
            "UPDATE cutover.steps SET state = 'running', finished_at = NULL WHERE phase = $1 AND step_index = $2",
            &[&phase, &index],
        )
        .await
        .unwrap();
    client.batch_execute("UPDATE cutover.runs SET outcome = 'running', finished_at = NULL").await.unwrap();
}

/// Kills a runner and ends its sessions (as when the machine running it goes away), once
/// its session waits on a lock and `left` (a query) finds what the interrupted step leaves.
async fn kill_while_waiting(mut child: tokio::process::Child, observer: &Client, left: &str) {
    let waiting = format!(
        "SELECT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.application_name = 'cutover apply' AND a.datname = current_database() \
         AND a.wait_event_type = 'Lock' AND EXISTS ({left}))"
    );
    wait_for("the step to wait, half done", async || {
        observer.query_one(&waiting, &[]).await.unwrap().get::<_, bool>(0)
    })
    .await;
    child.kill().await.unwrap();
    observer
        .batch_execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'cutover apply%' AND datname = current_database()",
        )
        .await
        .unwrap();
    wait_for("the runner's sessions to end", async || {
        // Several sessions may remain for a moment (the runner's and its lock sampler's).
        !observer
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name LIKE 'cutover apply%' AND datname = current_database())",
                &[],
            )
            .await
            .unwrap()
            .get::<_, bool>(0)
    })
    .await;
}

/// An index whose definition changes: built under a new name (expand), the old one dropped
/// concurrently (switch, step 1: no IF EXISTS, so running it twice fails), then renamed.
async fn index_swap_case() -> Case {
    let options = PlanOptions { lock_timeout_ms: 600_000, ..PlanOptions::default() };
    let c = case(
        "CREATE TABLE users (id bigint PRIMARY KEY, email text, name text);\nCREATE INDEX users_lookup ON users (email);",
        "INSERT INTO users SELECT g, 'u' || g, 'n' || g FROM generate_series(1, 100) g;",
        "CREATE TABLE users (id bigint PRIMARY KEY, email text, name text);\nCREATE INDEX users_lookup ON users (email, name);",
        options,
    )
    .await;
    let switch = c.plan.phase(planner::PhaseName::Switch).expect("a switch phase");
    assert_eq!(
        switch.steps[0].sql,
        "DROP INDEX CONCURRENTLY IF EXISTS public.users_lookup",
        "{}",
        planner::render_human(&c.plan)
    );
    assert_eq!(
        switch.steps[0].effect,
        Some(planner::Effect::DropIndex { index: cutover_schema::QualName::new("public", "users_lookup") })
    );
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrent_drop_done_by_a_dead_runner_counts_as_done() {
    let c = index_swap_case().await;
    let out = c.apply(&["--phase", "expand"]).await;
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    // The runner dropped the index and died before recording it.
    left_running(&c.db, "switch", 1).await;
    c.db.connect().await.batch_execute("DROP INDEX CONCURRENTLY public.users_lookup").await.unwrap();
    let out = c.apply(&["--phase", "switch"]).await;
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains(
            "phase 2/2 switch, step 1/2: DROP INDEX CONCURRENTLY IF EXISTS public.users_lookup ... public.users_lookup was dropped by an earlier run ... done in"
        ),
        "{}",
        stdout(&out)
    );
    assert!(c.steps().await.iter().all(|s| s.2 == "done"), "{:?}", c.steps().await);
    assert!(c.converged().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrent_drop_killed_half_way_drops_the_invalid_index_again() {
    let c = index_swap_case().await;
    let out = c.apply(&["--phase", "expand"]).await;
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    // A reader's open transaction: the drop marks the index INVALID, then waits for it.
    let (reader, _) = session(&c.db, "apply-test-reader").await;
    reader.batch_execute("BEGIN; SELECT count(*) FROM users").await.unwrap();
    let child = c.command(&["--phase", "switch"]).spawn().unwrap();
    let observer = c.db.connect().await;
    kill_while_waiting(
        child,
        &observer,
        "SELECT 1 FROM pg_index WHERE indexrelid = to_regclass('public.users_lookup') AND NOT indisvalid",
    )
    .await;
    reader.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(c.steps().await.iter().find(|s| s.0 == "switch").map(|s| s.2.as_str()), Some("running"));

    let out = c.apply(&["--phase", "switch"]).await;
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains(
            "DROP INDEX CONCURRENTLY IF EXISTS public.users_lookup ... public.users_lookup is INVALID: an earlier run's drop was interrupted; dropping it again ... done in"
        ),
        "{}",
        stdout(&out)
    );
    assert!(c.converged().await);
}

/// A partition detached (contract, step 1) CONCURRENTLY, then its leftover CHECK dropped.
async fn detach_case() -> Case {
    let options = PlanOptions { lock_timeout_ms: 600_000, ..PlanOptions::default() };
    let c = case(
        "CREATE TABLE m (id int NOT NULL, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE m_2023 PARTITION OF m FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE m_2024 PARTITION OF m FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');",
        "INSERT INTO m SELECT g, DATE '2023-06-01' + g FROM generate_series(1, 300) g;",
        "CREATE TABLE m (id int NOT NULL, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE m_2024 PARTITION OF m FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE m_2023 (id int NOT NULL, at date NOT NULL);",
        options,
    )
    .await;
    let contract = c.plan.phase(planner::PhaseName::Contract).expect("a contract phase");
    assert_eq!(
        contract.steps[0].sql,
        "ALTER TABLE public.m DETACH PARTITION public.m_2023 CONCURRENTLY",
        "{}",
        planner::render_human(&c.plan)
    );
    assert_eq!(
        contract.steps[0].effect,
        Some(planner::Effect::DetachPartition {
            parent: cutover_schema::QualName::new("public", "m"),
            partition: cutover_schema::QualName::new("public", "m_2023"),
        })
    );
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrent_detach_killed_half_way_is_finalized() {
    let c = detach_case().await;
    // A reader of the parent alone: the detach's first transaction marks the partition
    // pending, the second waits for the reader.
    let (reader, _) = session(&c.db, "apply-test-reader").await;
    reader.batch_execute("BEGIN; LOCK TABLE ONLY m IN ACCESS SHARE MODE").await.unwrap();
    let child = c.command(&["--yes"]).spawn().unwrap();
    let observer = c.db.connect().await;
    kill_while_waiting(
        child,
        &observer,
        "SELECT 1 FROM pg_inherits WHERE inhrelid = 'public.m_2023'::regclass AND inhdetachpending",
    )
    .await;
    reader.batch_execute("ROLLBACK").await.unwrap();
    let steps = c.steps().await;
    assert_eq!(steps.iter().find(|s| s.0 == "contract").map(|s| s.2.as_str()), Some("running"), "{steps:?}");

    let out = c.apply(&["--yes"]).await;
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains(
            "ALTER TABLE public.m DETACH PARTITION public.m_2023 CONCURRENTLY ... the detach of public.m_2023 from public.m an earlier run began is pending; finishing it (FINALIZE) ... done in"
        ),
        "{}",
        stdout(&out)
    );
    assert!(c.steps().await.iter().all(|s| s.2 == "done"), "{:?}", c.steps().await);
    assert!(c.converged().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrent_detach_done_by_a_dead_runner_counts_as_done() {
    let c = detach_case().await;
    let out = c.apply(&["--yes"]).await;
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    // As if the runner had died right after the detach: the steps after it not run yet
    // (the next one, a DROP CONSTRAINT IF EXISTS, runs again harmlessly).
    left_running(&c.db, "contract", 1).await;
    c.db.connect()
        .await
        .batch_execute("UPDATE cutover.steps SET state = 'pending' WHERE phase = 'contract' AND step_index > 1")
        .await
        .unwrap();
    let out = c.apply(&["--yes"]).await;
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("... public.m_2023 was detached from public.m by an earlier run ... done in"),
        "{}",
        stdout(&out)
    );
    assert!(c.steps().await.iter().all(|s| s.2 == "done"), "{:?}", c.steps().await);
    assert!(c.converged().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enum_value_added_by_a_dead_runner_counts_as_done() {
    let c = case(
        "CREATE TYPE mood AS ENUM ('sad', 'ok');\nCREATE TABLE people (id int PRIMARY KEY, mood mood);",
        "INSERT INTO people VALUES (1, 'ok');",
        "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');\nCREATE TABLE people (id int PRIMARY KEY, mood mood);",
        PlanOptions::default(),
    )
    .await;
    let step = &c.plan.phases[0].steps[0];
    assert_eq!(
        step.sql,
        "ALTER TYPE public.mood ADD VALUE IF NOT EXISTS 'happy' AFTER 'ok'",
        "{}",
        planner::render_human(&c.plan)
    );
    let out = c.apply(&[]).await;
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    left_running(&c.db, "expand", 1).await;
    let out = c.apply(&[]).await;
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains(
            "ADD VALUE IF NOT EXISTS 'happy' AFTER 'ok' ... public.mood has the value 'happy': an earlier run added it ... done in"
        ),
        "{}",
        stdout(&out)
    );
    assert_eq!(c.steps().await, [("expand".to_string(), 1, "done".to_string(), 1)]);
    assert!(c.converged().await);
}

#[test]
fn every_step_outside_a_transaction_says_what_it_changes() {
    // The planner's non-transactional operations are exactly those apply can resume from
    // the catalog: a concurrent build (builds_index) and the effects.
    let outside: Vec<cutover_plan::locks::Operation> =
        cutover_plan::locks::LOCK_FACTS.iter().filter(|f| !f.transactional).map(|f| f.operation).collect();
    use cutover_plan::locks::Operation::*;
    assert_eq!(outside, [CreateIndexConcurrently, DropIndexConcurrently, DetachPartitionConcurrently, AddEnumValue]);
}
