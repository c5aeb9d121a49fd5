//! `cutover verify` as users run it, on real PostgreSQL: plans made by the planner are
//! applied phase by phase with `cutover apply`, and verify passes after each phase;
//! databases broken on purpose make it fail with the right message. Each test has its own
//! database; the only timed check compares a query sleeping 300 ms with a 50 ms budget.

mod common;

use common::*;

use cutover_plan::planner::{self, Plan, PlanOptions};
use cutover_schema::{QualName, TableFacts};
use cutover_test_support::TestDb;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

/// A database in the `before` state with `data`, and the plan to `after` in a file. Tables
/// in `large` are planned as large (the live facts of a production table).
struct Case {
    db: TestDb,
    plan: Plan,
    plan_path: PathBuf,
    dir: tempfile::TempDir,
}

async fn case(before: &str, data: &str, after: &str, large: &[&str]) -> Case {
    let db = common::db_with(&format!("{before}\n{data}"), "before.sql").await.unwrap();
    let to = common::db_with(after, "after.sql").await.unwrap();
    let mut current = common::read(&db).await.unwrap();
    for table in large {
        let facts = TableFacts { rows: Some(50_000_000), bytes: 8_000_000_000 };
        current.facts.tables.insert(QualName::new("public", *table), facts);
    }
    let desired = common::read(&to).await.unwrap();
    let plan = planner::plan(&current, &desired, &PlanOptions::default());
    assert!(plan.blockers.is_empty(), "{}", planner::render_human(&plan));
    let dir = tempfile::tempdir().unwrap();
    let plan_path = dir.path().join("plan.json");
    std::fs::write(&plan_path, serde_json::to_string_pretty(&plan).unwrap()).unwrap();
    Case { db, plan, plan_path, dir }
}

async fn cutover(args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .expect("run cutover")
}

impl Case {
    async fn apply(&self, phase: &str) -> Output {
        let plan = self.plan_path.to_str().unwrap();
        cutover(&["apply", "--database", &self.db.url(), "--plan", plan, "--phase", phase, "--yes"]).await
    }

    async fn applied(&self, phase: &str) {
        let out = self.apply(phase).await;
        assert_eq!(out.status.code(), Some(0), "apply {phase}: {}{}", stdout(&out), stderr(&out));
    }

    async fn verify(&self, extra: &[&str]) -> Output {
        let (url, plan) = (self.db.url(), self.plan_path.to_str().unwrap());
        let mut args = vec!["verify", "--database", &url, "--plan", plan];
        args.extend_from_slice(extra);
        cutover(&args).await
    }

    fn file(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_string_lossy().into_owned()
    }

    async fn sql(&self, sql: &str) {
        self.db.connect().await.batch_execute(sql).await.unwrap();
    }
}

fn passes(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(out), stderr(out));
    stdout(out)
}

fn fails(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(1), "{}{}", stdout(out), stderr(out));
    stdout(out)
}

fn snapshot(name: &str, text: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    insta::with_settings!({ snapshot_path => dir, prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!(name, text);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_passes_after_each_phase_that_cutover_apply_ran() {
    let c = case(SHOP_BEFORE, SHOP_DATA, SHOP_AFTER, &["orders", "customers"]).await;
    let names: Vec<&str> = c.plan.phases.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["expand", "switch", "contract"], "{}", planner::render_human(&c.plan));

    c.applied("expand").await;
    let text = passes(&c.verify(&[]).await);
    snapshot("verify_shop_after_expand", &text);

    c.applied("switch").await;
    let text = passes(&c.verify(&[]).await);
    assert!(text.starts_with("phases verified: expand, switch\n"), "{text}");
    assert!(text.contains("✓ constraint orders_customer_id_fkey on public.orders is validated: validated\n"), "{text}");

    c.applied("contract").await;
    let text = passes(&c.verify(&[]).await);
    assert!(text.contains("✓ column public.orders.legacy is gone: gone\n"), "{text}");
    assert!(text.ends_with(" passed, 0 failed\n"), "{text}");

    let json: serde_json::Value = serde_json::from_str(&stdout(&c.verify(&["--format", "json"]).await)).unwrap();
    assert_eq!(json["summary"]["phases"], serde_json::json!(["expand", "switch", "contract"]));
    assert_eq!(json["summary"]["failed"], 0);
    let first = &json["checks"][0];
    assert_eq!(first["kind"], "column");
    assert_eq!(first["ok"], true);
    assert!(first["name"].is_string() && first["detail"].is_string(), "{first}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phase_named_but_not_run_fails_on_what_it_drops_and_validates() {
    let c = case(SHOP_BEFORE, SHOP_DATA, SHOP_AFTER, &["orders", "customers"]).await;
    c.applied("expand").await;
    // The foreign key was added NOT VALID in expand; the switch that validates it never ran,
    // nor the contract that drops the old column.
    let text = fails(&c.verify(&["--phase", "expand", "--phase", "switch", "--phase", "contract"]).await);
    assert!(
        text.contains("✗ constraint orders_customer_id_fkey on public.orders is validated: NOT VALID: existing rows were never checked (pg_constraint.convalidated is false)\n"),
        "{text}"
    );
    assert!(text.contains("✗ column public.orders.legacy is gone: still present\n"), "{text}");
    assert!(text.ends_with("failed: verification failed\n"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_null_unset_after_the_switch_fails() {
    let c = case(
        "CREATE TABLE t (id bigint PRIMARY KEY, name text);",
        "INSERT INTO t SELECT g, 'n' || g FROM generate_series(1, 100) g;",
        "CREATE TABLE t (id bigint PRIMARY KEY, name text NOT NULL);",
        &["t"],
    )
    .await;
    c.applied("expand").await;
    c.applied("switch").await;
    passes(&c.verify(&[]).await);
    c.sql("ALTER TABLE t ALTER COLUMN name DROP NOT NULL").await;
    let text = fails(&c.verify(&[]).await);
    assert!(
        text.contains("✗ column public.t.name is NOT NULL: NOT NULL is not set: the column accepts NULLs\n"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_index_left_by_a_failed_unique_build_fails() {
    let c = case(
        "CREATE TABLE t (id bigint PRIMARY KEY, email text);",
        "INSERT INTO t SELECT g, 'same' FROM generate_series(1, 10) g;",
        "CREATE TABLE t (id bigint PRIMARY KEY, email text); CREATE UNIQUE INDEX t_email_key ON t (email);",
        &["t"],
    )
    .await;
    // The concurrent build fails on the duplicates and leaves the index INVALID.
    let out = c.apply("expand").await;
    assert_eq!(out.status.code(), Some(1), "{}{}", stdout(&out), stderr(&out));
    let out = c.verify(&[]).await;
    assert_eq!(passes(&out), "phases verified: none\n0 check(s): 0 passed, 0 failed\n");
    let text = fails(&c.verify(&["--phase", "expand"]).await);
    assert!(
        text.contains("✗ index public.t_email_key is valid: INVALID (pg_index.indisvalid is false: a CREATE INDEX CONCURRENTLY failed or was interrupted); drop it and build it again\n"),
        "{text}"
    );
}

/// A type change on a large table goes through a new column: verify checks the backfill
/// and that old and new columns agree before the swap.
async fn type_change() -> Case {
    case(
        "CREATE TABLE accounts (id bigint PRIMARY KEY, balance integer);",
        "INSERT INTO accounts SELECT g, CASE WHEN g % 7 = 0 THEN NULL ELSE g * 10 END FROM generate_series(1, 500) g;",
        "CREATE TABLE accounts (id bigint PRIMARY KEY, balance bigint);",
        &["accounts"],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_type_change_verifies_the_backfill_and_the_checksums_before_the_swap() {
    let c = type_change().await;
    let names: Vec<&str> = c.plan.phases.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["expand", "backfill", "switch", "contract"], "{}", planner::render_human(&c.plan));
    c.applied("expand").await;
    passes(&c.verify(&[]).await);
    c.applied("backfill").await;
    let text = passes(&c.verify(&[]).await);
    assert!(
        text.contains(
            "✓ public.accounts.balance_cutover_new agrees with public.accounts.balance: checksums match over 500 rows\n"
        ),
        "{text}"
    );
    assert!(text.contains("✓ rows of public.accounts: 500 rows\n"), "{text}");

    // Rows changed behind the sync trigger's back, and a row the backfill missed.
    c.sql(
        "SET session_replication_role = replica;
         UPDATE accounts SET balance_cutover_new = balance_cutover_new + 1 WHERE id IN (1, 2, 3);
         UPDATE accounts SET balance_cutover_new = NULL WHERE id IN (40, 41);
         RESET session_replication_role;",
    )
    .await;
    let text = fails(&c.verify(&[]).await);
    snapshot("verify_type_change_broken_before_swap", &text);

    c.sql("SET session_replication_role = replica; UPDATE accounts SET balance_cutover_new = balance; RESET session_replication_role;").await;
    passes(&c.verify(&[]).await);
    c.applied("switch").await;
    let text = passes(&c.verify(&[]).await);
    assert!(!text.contains("agrees with"), "the swap retires the checksum check:\n{text}");
    assert!(text.contains("✓ column public.accounts.balance_cutover_old exists: exists\n"), "{text}");
    c.applied("contract").await;
    let text = passes(&c.verify(&[]).await);
    assert!(text.contains("✓ column public.accounts.balance_cutover_old is gone: gone\n"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_checks_and_latency_budgets_pass_and_fail() {
    let c = case(
        "CREATE TABLE t (id bigint PRIMARY KEY, qty int);",
        "INSERT INTO t SELECT g, g FROM generate_series(1, 10) g;",
        "CREATE TABLE t (id bigint PRIMARY KEY, qty int, note text);",
        &[],
    )
    .await;
    c.applied("expand").await;
    let checks = c.file(
        "checks.toml",
        r#"
[[check]]
name = "every quantity is positive"
sql = "SELECT bool_and(qty > 0) FROM t"
expect = "true"

[[check]]
name = "no negative quantity"
sql = "SELECT count(*) FROM t WHERE qty < 0"
expect = "zero"

[[check]]
name = "ten rows"
sql = "SELECT id FROM t"
expect = "rows:10"

[[check]]
name = "small quantities"
sql = "SELECT count(*) FROM t WHERE qty > 5"
expect = "zero"

[[check]]
name = "nothing is written"
sql = "DELETE FROM t"
expect = "zero"

[[latency]]
name = "lookup by key"
sql = "SELECT * FROM t WHERE id = 3"
budget_ms = 5000
runs = 3

[[latency]]
name = "slow report"
sql = "SELECT pg_sleep(0.3)"
budget_ms = 50
runs = 1
"#,
    );
    let out = c.verify(&["--checks", &checks]).await;
    let text = fails(&out);
    assert!(text.contains("✓ every quantity is positive: true\n"), "{text}");
    assert!(text.contains("✓ no negative quantity: 0\n"), "{text}");
    assert!(text.contains("✓ ten rows: 10 rows\n"), "{text}");
    assert!(text.contains("✗ small quantities: expected zero, got 5\n"), "{text}");
    assert!(
        text.contains(
            "✗ nothing is written: the query failed: ERROR: cannot execute DELETE in a read-only transaction"
        ),
        "{text}"
    );
    assert!(text.contains("✓ lookup by key: median "), "{text}");
    assert!(text.contains("over 3 run(s), budget 5000 ms\n"), "{text}");
    let slow = text.lines().find(|l| l.starts_with("✗ slow report: median ")).unwrap_or_else(|| panic!("{text}"));
    assert!(slow.ends_with("over 1 run(s), budget 50 ms: over budget"), "{slow}");
    assert_eq!(c.db.connect().await.query_one("SELECT count(*) FROM t", &[]).await.unwrap().get::<_, i64>(0), 10);

    let json: serde_json::Value =
        serde_json::from_str(&stdout(&c.verify(&["--checks", &checks, "--format", "json"]).await)).unwrap();
    let kinds: Vec<&str> = json["checks"].as_array().unwrap().iter().map(|c| c["kind"].as_str().unwrap()).collect();
    assert!(kinds.ends_with(&["user", "user", "user", "user", "user", "latency", "latency"]), "{kinds:?}");
    assert_eq!(json["summary"]["failed"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_exits_2_with_one_sentence() {
    let c = case("CREATE TABLE t (id int);", "", "CREATE TABLE t (id int, note text);", &[]).await;
    let bad = c.file("bad.toml", "[[check]]\nname = \"x\"\nsql = \"SELECT true\"\nexpect = \"yes\"\n");
    let out = c.verify(&["--checks", &bad, "--phase", "expand"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "error: the checks file {bad}:4 is invalid: `expect` must be \"true\", \"zero\" or \"rows:N\", not \"yes\"\n"
        )
    );
    let typo = c.file("typo.toml", "[[latency]]\nname = \"x\"\nsql = \"SELECT 1\"\nbudget = 5\n");
    let out = c.verify(&["--checks", &typo, "--phase", "expand"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).starts_with(&format!("error: the checks file {typo}:4 is invalid: unknown field `budget`")));

    // No cutover schema, no --phase: nothing says which phases ran.
    let out = c.verify(&[]).await;
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "error: verify stopped: the database has no cutover schema, so no phase was applied with cutover apply: name the phases that ran with --phase\n"
    );
    let out = c.verify(&["--phase", "contract"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out), "error: verify stopped: the plan has no contract phase (it has: expand)\n");

    let plan = c.plan_path.to_str().unwrap();
    let out = cutover(&["verify", "--database", "postgresql://postgres@127.0.0.1:1/none", "--plan", plan]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).starts_with("error: verify stopped: could not connect to "), "{}", stderr(&out));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_without_a_recipe_of_their_own_are_verified_and_each_wrong_one_named() {
    let before = "CREATE TYPE status AS ENUM ('new', 'paid');
CREATE TABLE orders (id bigint PRIMARY KEY, state status NOT NULL DEFAULT 'new', total integer, owner text);
CREATE TABLE events (id bigint NOT NULL, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE events_2026 (id bigint NOT NULL, at date NOT NULL);";
    let data = "INSERT INTO orders SELECT g, 'new', g, 'u' || g FROM generate_series(1, 50) g;";
    let after = "CREATE TYPE status AS ENUM ('new', 'paid', 'archived');
CREATE TABLE orders (id bigint PRIMARY KEY, state status NOT NULL DEFAULT 'paid', total integer DEFAULT 0, owner text);
CREATE TABLE events (id bigint NOT NULL, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE SEQUENCE invoice_numbers;
CREATE FUNCTION order_total(o_id bigint) RETURNS integer LANGUAGE sql STABLE AS 'SELECT total FROM public.orders WHERE id = o_id';
CREATE VIEW big_orders AS SELECT id, total FROM orders WHERE total > 10;
CREATE MATERIALIZED VIEW order_counts AS SELECT state, count(*) AS n FROM orders GROUP BY state;
CREATE STATISTICS orders_total_owner ON total, owner FROM orders;
ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_orders ON orders USING (owner = current_user);";
    let c = case(before, data, after, &[]).await;
    for phase in c.plan.phases.iter().map(|p| p.name.as_str()).collect::<Vec<_>>() {
        c.applied(phase).await;
    }
    let text = passes(&c.verify(&[]).await);
    for line in [
        "✓ enum public.status has the labels 'new', 'paid', 'archived' in order: 3 label(s) in order\n",
        "✓ column public.orders.state defaults to 'paid'::public.status: defaults to 'paid'::public.status\n",
        "✓ sequence public.invoice_numbers exists: exists\n",
        "✓ routine public.order_total(o_id bigint) exists: exists\n",
        "✓ view public.big_orders exists: exists\n",
        "✓ materialized view public.order_counts exists: exists\n",
        "✓ statistics public.orders_total_owner exists: exists\n",
        "✓ row-level security is enabled on public.orders: enabled\n",
        "✓ policy own_orders on public.orders exists: exists\n",
        "✓ public.events_2026 is a partition of public.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01'): attached\n",
    ] {
        assert!(text.contains(line), "{line}in\n{text}");
    }

    c.sql(
        "ALTER TYPE status RENAME VALUE 'archived' TO 'old';
ALTER TABLE orders ALTER COLUMN state SET DEFAULT 'new', ALTER COLUMN total DROP DEFAULT;
ALTER TABLE orders DISABLE ROW LEVEL SECURITY;
DROP POLICY own_orders ON orders;
DROP STATISTICS orders_total_owner;
DROP VIEW big_orders;
DROP MATERIALIZED VIEW order_counts;
CREATE VIEW order_counts AS SELECT 'new'::status AS state, 0::bigint AS n;
DROP FUNCTION order_total(bigint);
CREATE FUNCTION order_total(o_id integer) RETURNS integer LANGUAGE sql AS 'SELECT 1';
DROP SEQUENCE invoice_numbers;
ALTER TABLE events DETACH PARTITION events_2026;",
    )
    .await;
    let text = fails(&c.verify(&[]).await);
    for line in [
        "✗ enum public.status has the labels 'new', 'paid', 'archived' in order: lacks the label 'archived'\n",
        "✗ column public.orders.state defaults to 'paid'::public.status: the column defaults to 'new'::public.status instead\n",
        "✗ column public.orders.total defaults to 0: the column has no default\n",
        "✗ sequence public.invoice_numbers exists: missing\n",
        "✗ routine public.order_total(o_id bigint) exists: missing\n",
        "✗ view public.big_orders exists: missing\n",
        "✗ materialized view public.order_counts exists: is a view, not a materialized view\n",
        "✗ statistics public.orders_total_owner exists: missing\n",
        "✗ row-level security is enabled on public.orders: row-level security is not enabled: its policies are not applied (pg_class.relrowsecurity is false)\n",
        "✗ policy own_orders on public.orders exists: missing\n",
        "✗ public.events_2026 is a partition of public.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01'): is not attached: it is a table of its own\n",
    ] {
        assert!(text.contains(line), "{line}in\n{text}");
    }
}
