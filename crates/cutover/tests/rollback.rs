//! `cutover apply --rollback` as users run it, on real PostgreSQL: a phase applied by
//! `cutover apply` is rolled back to the schema before it, refusals name what stops them, a
//! rollback stopped midway resumes, and the phase applies again afterwards.

mod common;

use common::*;

use cutover_plan::planner::{self, Plan, PlanOptions};
use cutover_schema::Catalog;
use cutover_test_support::TestDb;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

/// A database in the `before` state with `data`, its catalog, and the plan (written to a
/// file) that takes it to `after`.
struct Case {
    db: TestDb,
    before: Catalog,
    desired: Catalog,
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
    Case { db, before: current, desired, plan, plan_path, _dir: dir }
}

async fn shop() -> Case {
    let c = case(SHOP_BEFORE, SHOP_DATA, SHOP_AFTER, PlanOptions::default()).await;
    let names: Vec<&str> = c.plan.phases.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["expand", "switch", "contract"], "{}", planner::render_human(&c.plan));
    c
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

    /// `cutover apply` that must exit 0.
    async fn ok(&self, extra: &[&str]) -> String {
        let out = self.apply(extra).await;
        assert_eq!(out.status.code(), Some(0), "{extra:?}\n{}{}", stdout(&out), stderr(&out));
        stdout(&out)
    }

    /// (phase, step_index, state) of every step, in plan order.
    async fn steps(&self) -> Vec<(String, i32, String)> {
        let client = self.db.connect().await;
        let rows = client
            .query(
                "SELECT phase, step_index, state FROM cutover.steps ORDER BY \
                 array_position(ARRAY['expand','backfill','switch','contract'], phase), step_index",
                &[],
            )
            .await
            .unwrap();
        rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect()
    }

    /// The states of one phase's steps, in plan order.
    async fn states(&self, phase: &str) -> Vec<String> {
        self.steps().await.into_iter().filter(|s| s.0 == phase).map(|s| s.2).collect()
    }

    /// (phases, outcome) of every run.
    async fn runs(&self) -> Vec<(Vec<String>, String)> {
        let client = self.db.connect().await;
        let rows = client.query("SELECT phases, outcome FROM cutover.runs ORDER BY id", &[]).await.unwrap();
        rows.iter().map(|r| (r.get(0), r.get(1))).collect()
    }

    /// The schema as introspected, without the table statistics (rows and bytes).
    async fn catalog(&self) -> Catalog {
        let mut catalog = common::read(&self.db).await.unwrap();
        catalog.facts = Default::default();
        catalog
    }

    /// Whether the database holds the schema it had before the plan: equal catalogs, and
    /// an empty diff.
    async fn back_before(&self) -> Result<(), String> {
        let now = self.catalog().await;
        let mut before = self.before.clone();
        before.facts = Default::default();
        let diff = cutover_plan::diff(&now, &before, &Default::default());
        if !diff.is_empty() {
            return Err(format!("the diff back to the schema before is not empty:\n{}", diff.to_sql()));
        }
        if now != before {
            return Err(model_difference(&now, &before));
        }
        Ok(())
    }

    /// Stdout with what differs between runs (the plan's checksum, the database's URL)
    /// replaced, for snapshots.
    fn stable(&self, text: &str) -> String {
        let bytes = std::fs::read(&self.plan_path).unwrap();
        let checksum = cutover_db_postgres::apply::checksum(&bytes);
        let display = cutover_db_postgres::connect::Target::parse(&self.db.url()).unwrap().display;
        text.replace(&checksum[..12], "CHECKSUM").replace(&display, "DATABASE")
    }
}

fn snapshot(name: &str, text: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    insta::with_settings!({ snapshot_path => dir, prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!(name, text);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolled_back_expand_phase_leaves_the_schema_before_it_and_applies_again() {
    let c = shop().await;
    let expand = c.plan.phases[0].steps.len();
    c.ok(&["--phase", "expand"]).await;
    assert!(c.back_before().await.is_err(), "expand changed nothing");
    let text = c.ok(&["--rollback", "--phase", "expand", "--yes"]).await;
    assert!(text.starts_with("rolling back the expand phase of plan "), "{text}");
    assert_eq!(text.matches(" undone in ").count(), expand, "{text}");
    assert!(text.contains(&format!("rolled back: {expand} step(s) undone, 0 not run, in ")), "{text}");
    // Last step first.
    let first = format!("phase 1/3 expand, step {expand}/{expand}: ");
    let last = "phase 1/3 expand, step 1/";
    assert!(text.find(&first).unwrap() < text.find(last).unwrap(), "{text}");
    c.back_before().await.unwrap();
    assert!(c.states("expand").await.iter().all(|s| s == "pending"), "{:?}", c.steps().await);
    let runs = c.runs().await;
    assert_eq!(
        runs,
        [(vec!["expand".to_string()], "done".to_string()), (vec!["rollback:expand".to_string()], "done".to_string())]
    );

    // Run again: every step is pending, nothing runs.
    let again = c.ok(&["--rollback", "--phase", "expand", "--yes"]).await;
    assert_eq!(again.matches(" pending: nothing to undo\n").count(), expand, "{again}");
    assert!(again.contains(&format!("rolled back: 0 step(s) undone, {expand} not run, in ")), "{again}");

    // The phase applies again, and the whole plan after it.
    let text = c.ok(&["--phase", "expand"]).await;
    assert_eq!(text.matches("... done in ").count(), expand, "{text}");
    c.ok(&["--yes"]).await;
    let after = c.catalog().await;
    assert!(
        cutover_plan::diff(&after, &c.desired, &Default::default()).is_empty(),
        "no convergence after the rollback"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phase_is_rolled_back_only_after_the_later_phases_that_ran() {
    let c = shop().await;
    c.ok(&["--phase", "expand", "--phase", "switch"]).await;
    let out = c.apply(&["--rollback", "--phase", "expand", "--yes"]).await;
    assert_eq!(out.status.code(), Some(2), "{}{}", stdout(&out), stderr(&out));
    let switch = c.plan.phases[1].steps.len();
    assert_eq!(
        stderr(&out),
        format!(
            "error: the switch phase comes after expand and {switch} of its {switch} steps ran (done, running or failed): \
             roll it back first (cutover apply --rollback --phase switch)\n"
        )
    );
    assert!(stdout(&out).starts_with("rolling back the expand phase of plan "), "{}", stdout(&out));
    assert_eq!(stdout(&out).lines().count(), 1, "{}", stdout(&out));
    assert!(c.steps().await.iter().filter(|s| s.0 != "contract").all(|s| s.2 == "done"), "{:?}", c.steps().await);
    assert_eq!(c.runs().await.len(), 1, "a refused rollback was recorded as a run");

    // The switch phase validates the foreign key: nothing to undo, the expand rollback drops it.
    let text = c.ok(&["--rollback", "--phase", "switch", "--yes"]).await;
    assert!(text.contains(" nothing to undo (the plan gives it no rollback): pending again\n"), "{text}");
    c.ok(&["--rollback", "--phase", "expand", "--yes"]).await;
    c.back_before().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_that_cannot_be_undone_refuses_the_rollback_and_runs_nothing() {
    let c = shop().await;
    c.ok(&["--yes"]).await;
    let before = c.catalog().await;
    let expected = "error: the contract phase cannot be rolled back: step 1/1 \
                    (`ALTER TABLE public.orders DROP COLUMN legacy`) is done and the plan says it cannot be undone \
                    (restore from a backup)\n";
    let out = c.apply(&["--rollback", "--phase", "contract", "--yes"]).await;
    assert_eq!(out.status.code(), Some(2), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(stderr(&out), expected);
    let dry = c.apply(&["--rollback", "--phase", "contract", "--dry-run"]).await;
    assert_eq!(dry.status.code(), Some(2), "{}", stderr(&dry));
    assert_eq!(stderr(&dry), format!("error: the rollback would refuse: {}", &expected["error: ".len()..]));
    assert!(
        stdout(&dry).contains(
            "phase 3/3 contract, step 1/1: done, cannot be undone: the plan says it cannot be undone (restore from a backup)\n"
        ),
        "{}",
        stdout(&dry)
    );
    assert!(c.catalog().await == before, "a refused rollback changed the schema");
    assert!(c.steps().await.iter().all(|s| s.2 == "done"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enum_value_cannot_be_rolled_back_and_the_refusal_names_every_such_step() {
    let c = case(
        "CREATE TYPE mood AS ENUM ('sad', 'ok'); CREATE TABLE t (id bigint PRIMARY KEY, m mood);",
        "INSERT INTO t VALUES (1, 'ok');",
        "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy'); CREATE TABLE t (id bigint PRIMARY KEY, m mood, note text);",
        PlanOptions::default(),
    )
    .await;
    c.ok(&["--phase", "expand"]).await;
    let out = c.apply(&["--rollback", "--phase", "expand", "--yes"]).await;
    assert_eq!(out.status.code(), Some(2), "{}{}", stdout(&out), stderr(&out));
    let steps: Vec<&str> = c.plan.phases[0].steps.iter().map(|s| s.sql.as_str()).collect();
    let n = steps.len();
    let i = steps.iter().position(|s| s.contains("ADD VALUE")).unwrap() + 1;
    assert_eq!(
        stderr(&out),
        format!(
            "error: the expand phase cannot be rolled back: step {i}/{n} (`{}`) is done and PostgreSQL cannot remove a \
             value from an enum type, so 'happy' stays in public.mood\n",
            steps[i - 1]
        )
    );
    assert!(c.states("expand").await.iter().all(|s| s == "done"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_stopped_by_a_lock_resumes_where_it_stopped() {
    let options = PlanOptions { lock_timeout_ms: 200, ..PlanOptions::default() };
    let c = case(
        "CREATE TABLE a (id bigint PRIMARY KEY); CREATE TABLE b (id bigint PRIMARY KEY);",
        "INSERT INTO a VALUES (1); INSERT INTO b VALUES (1);",
        "CREATE TABLE a (id bigint PRIMARY KEY, x int); CREATE TABLE b (id bigint PRIMARY KEY, y int);",
        options,
    )
    .await;
    let sql: Vec<&str> = c.plan.phases[0].steps.iter().map(|s| s.sql.as_str()).collect();
    assert_eq!(sql, ["ALTER TABLE public.a ADD COLUMN x integer", "ALTER TABLE public.b ADD COLUMN y integer"]);
    c.ok(&["--phase", "expand"]).await;
    // Another session reads `a`: the second rollback statement (the first step's) waits.
    let holder = c.db.connect().await;
    holder.batch_execute("SET application_name = 'rollback-test-holder'").await.unwrap();
    let pid: i32 = holder.query_one("SELECT pg_backend_pid()", &[]).await.unwrap().get(0);
    holder.batch_execute("BEGIN; LOCK TABLE public.a IN ACCESS SHARE MODE").await.unwrap();
    let out = c
        .apply(&["--rollback", "--phase", "expand", "--yes", "--lock-retries", "2", "--lock-retry-wait-ms", "50"])
        .await;
    assert_eq!(out.status.code(), Some(1), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "error: phase 1/1 expand, step 1/2: the rollback `ALTER TABLE public.a DROP COLUMN IF EXISTS x` failed: it \
             could not get its locks in 2 tries (lock_timeout up to 400 ms): it was blocked by pid {pid} \
             (application_name 'rollback-test-holder', idle in transaction, client 127.0.0.1) running or last running \
             `BEGIN; LOCK TABLE public.a IN ACCESS SHARE MODE`; cutover.steps keeps the step as it was: fix the cause \
             and run the same command again to resume the rollback\n"
        )
    );
    let text = stdout(&out);
    assert!(text.contains("step 2/2: ALTER TABLE public.b DROP COLUMN IF EXISTS y ... undone in "), "{text}");
    assert!(text.contains(" lock_timeout (200 ms) expired on try 1/2, next try in "), "{text}");
    assert_eq!(c.states("expand").await, ["done", "pending"]);
    let client = c.db.connect().await;
    let error: String = client
        .query_one("SELECT error FROM cutover.steps WHERE phase = 'expand' AND step_index = 1", &[])
        .await
        .unwrap()
        .get(0);
    assert!(error.starts_with("rollback failed: it could not get its locks in 2 tries"), "{error}");

    holder.batch_execute("ROLLBACK").await.unwrap();
    let text = c.ok(&["--rollback", "--phase", "expand", "--yes"]).await;
    assert!(
        text.contains("step 2/2: ALTER TABLE public.b ADD COLUMN y integer ... pending: nothing to undo\n"),
        "{text}"
    );
    assert!(text.contains("step 1/2: ALTER TABLE public.a DROP COLUMN IF EXISTS x ... undone in "), "{text}");
    assert!(text.contains("rolled back: 1 step(s) undone, 1 not run, in "), "{text}");
    c.back_before().await.unwrap();
    assert_eq!(c.states("expand").await, ["pending", "pending"]);
    let outcomes: Vec<String> = c.runs().await.into_iter().map(|r| r.1).collect();
    assert_eq!(outcomes, ["done", "failed", "done"]);
    c.ok(&["--phase", "expand"]).await;
    assert_eq!(c.states("expand").await, ["done", "done"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_prints_the_rollback_statements_and_states_and_changes_nothing() {
    let c = shop().await;
    c.ok(&["--phase", "expand"]).await;
    let steps = c.steps().await;
    let catalog = c.catalog().await;
    let text = c.ok(&["--rollback", "--phase", "expand", "--dry-run"]).await;
    snapshot("rollback_dry_run_shop_expand", &c.stable(&text));
    assert_eq!(c.steps().await, steps, "the dry run changed the state");
    assert!(c.catalog().await == catalog, "the dry run changed the schema");
    assert_eq!(c.runs().await.len(), 1, "the dry run was recorded as a run");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_rollback_resets_the_engine_and_keeps_the_values_it_wrote() {
    let db = common::db_with(&common::backfill::counted_table(500), "before.sql").await.unwrap();
    let plan =
        common::backfill::plan(common::backfill::key(&[("id", "bigint")]), "new", "old * 2", Some("old IS NOT NULL"));
    let dir = tempfile::tempdir().unwrap();
    let plan_path = dir.path().join("plan.json");
    std::fs::write(&plan_path, serde_json::to_string_pretty(&plan).unwrap()).unwrap();
    let run = async |extra: &[&str]| {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_cutover"))
            .args(["apply", "--database", &db.url(), "--plan", plan_path.to_str().unwrap()])
            .args(extra)
            .stdin(Stdio::null())
            .output()
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{extra:?}\n{}{}", stdout(&out), stderr(&out));
        stdout(&out)
    };
    run(&[]).await;
    let client = db.connect().await;
    let filled =
        async || -> i64 { client.query_one("SELECT count(*) FROM t WHERE new IS NOT NULL", &[]).await.unwrap().get(0) };
    assert_eq!(filled().await, 429);
    let text = run(&["--rollback", "--phase", "backfill", "--yes"]).await;
    assert!(
        text.contains(" the backfill's state is reset (429 rows it filled keep their values): pending again\n"),
        "{text}"
    );
    let rows: i64 = client.query_one("SELECT count(*) FROM cutover.backfills", &[]).await.unwrap().get(0);
    assert_eq!(rows, 0, "the engine's state is still there");
    assert_eq!(filled().await, 429, "the values the backfill wrote stay");
    let state: String = client.query_one("SELECT state FROM cutover.steps", &[]).await.unwrap().get(0);
    assert_eq!(state, "pending");
    // Applied again, it starts over and finds every row filled.
    let text = run(&[]).await;
    assert!(text.contains("(0 rows in "), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_takes_exactly_one_phase() {
    let c = shop().await;
    for (extra, expected) in [
        (
            vec!["--rollback"],
            "error: --rollback undoes one phase: give exactly one --phase (the phase to roll back), not none\n",
        ),
        (
            vec!["--rollback", "--phase", "expand", "--phase", "switch"],
            "error: --rollback undoes one phase: give exactly one --phase (the phase to roll back), not expand and switch\n",
        ),
    ] {
        let out = c.apply(&extra).await;
        assert_eq!(out.status.code(), Some(2), "{extra:?}");
        assert_eq!(stderr(&out), expected);
    }
    let out = c.apply(&["--rollback", "--phase", "expand"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "error: the rollback of the expand phase needs --yes: there is no terminal to confirm it on (it undoes what the phase changed)\n"
    );
    let created: bool =
        c.db.connect().await.query_one("SELECT to_regclass('cutover.steps') IS NOT NULL", &[]).await.unwrap().get(0);
    assert!(!created, "a refused rollback created the state");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_killed_during_a_concurrent_drop_is_finished_by_the_next_run() {
    // A long lock_timeout: the drop waits for the writer below instead of timing out.
    let options = PlanOptions { lock_timeout_ms: 600_000, ..PlanOptions::default() };
    let c = case(
        "CREATE TABLE users (id bigint PRIMARY KEY, email text);",
        "INSERT INTO users SELECT g, 'u' || g FROM generate_series(1, 100) g;",
        "CREATE TABLE users (id bigint PRIMARY KEY, email text);\nCREATE INDEX users_email ON users (email);",
        options,
    )
    .await;
    c.ok(&["--phase", "expand"]).await;
    // An open writing transaction: DROP INDEX CONCURRENTLY marks the index INVALID, then
    // waits for it to end.
    let writer = c.db.connect().await;
    writer.batch_execute("BEGIN; INSERT INTO users VALUES (1000, 'w')").await.unwrap();
    let child = c.command(&["--rollback", "--phase", "expand", "--yes"]).spawn().unwrap();
    let observer = c.db.connect().await;
    let waiting = "SELECT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.application_name = 'cutover apply' \
                   AND a.datname = current_database() AND a.wait_event_type = 'Lock' \
                   AND EXISTS (SELECT 1 FROM pg_index WHERE NOT indisvalid))";
    wait_for("the drop to wait, half done", async || observer.query_one(waiting, &[]).await.unwrap().get(0)).await;
    // The runner dies, and its sessions with it.
    let mut child = child;
    child.kill().await.unwrap();
    observer
        .batch_execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name LIKE 'cutover apply%' AND datname = current_database()",
        )
        .await
        .unwrap();
    wait_for("the runner's sessions to end", async || {
        !observer
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_stat_activity \
                 WHERE application_name LIKE 'cutover apply%' AND datname = current_database())",
                &[],
            )
            .await
            .unwrap()
            .get::<_, bool>(0)
    })
    .await;
    writer.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(c.states("expand").await, ["done"], "the killed rollback recorded the step");

    let text = c.ok(&["--rollback", "--phase", "expand", "--yes"]).await;
    assert!(text.contains("step 1/1: DROP INDEX CONCURRENTLY IF EXISTS public.users_email ... undone in "), "{text}");
    c.back_before().await.unwrap();
    assert_eq!(c.states("expand").await, ["pending"]);
    let outcomes: Vec<String> = c.runs().await.into_iter().map(|r| r.1).collect();
    assert_eq!(outcomes, ["done", "interrupted", "done"]);
    c.ok(&["--phase", "expand"]).await;
    assert!(cutover_plan::diff(&c.catalog().await, &c.desired, &Default::default()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_phase_rolls_back_the_invalid_index_its_concurrent_build_left() {
    let c = case(
        "CREATE TABLE users (id bigint PRIMARY KEY, email text);",
        "INSERT INTO users SELECT g, 'u' || g FROM generate_series(1, 100) g; INSERT INTO users VALUES (0, 'u1');",
        "CREATE TABLE users (id bigint PRIMARY KEY, email text, note text);\n\
         CREATE UNIQUE INDEX users_email_key ON users (email);",
        PlanOptions::default(),
    )
    .await;
    let sql: Vec<&str> = c.plan.phases[0].steps.iter().map(|s| s.sql.as_str()).collect();
    let build = sql.iter().position(|s| s.starts_with("CREATE UNIQUE INDEX CONCURRENTLY")).unwrap() + 1;
    // The build fails on the duplicate and leaves an INVALID index.
    let out = c.apply(&[]).await;
    assert_eq!(out.status.code(), Some(1), "{}{}", stdout(&out), stderr(&out));
    let states = c.states("expand").await;
    assert_eq!(states[build - 1], "failed", "{states:?}");
    let client = c.db.connect().await;
    let valid = "SELECT indisvalid FROM pg_index WHERE indexrelid = 'public.users_email_key'::regclass";
    assert!(!client.query_one(valid, &[]).await.unwrap().get::<_, bool>(0));
    let dry = c.ok(&["--rollback", "--phase", "expand", "--dry-run"]).await;
    snapshot("rollback_dry_run_failed_build", &c.stable(&dry));

    let text = c.ok(&["--rollback", "--phase", "expand", "--yes"]).await;
    assert!(
        text.contains(&format!(
            "step {build}/{}: DROP INDEX CONCURRENTLY IF EXISTS public.users_email_key ... undone in ",
            sql.len()
        )),
        "{text}"
    );
    c.back_before().await.unwrap();
    assert!(c.states("expand").await.iter().all(|s| s == "pending"));
}
