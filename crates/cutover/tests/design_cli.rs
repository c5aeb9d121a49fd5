//! The CLI side of the design work: `cutover plan --downtime-window` (a step estimated to block
//! writes for longer is a blocker, exit 1; a bad duration is a usage error, exit 2) and
//! `[lint.naming]` in cutover.toml (the conventions `naming-convention` checks; a bad key or
//! value is one sentence, exit 2). Exact stdout and stderr.

use std::path::Path;
use std::process::Output;

use cutover_test_support::TestDb;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn cutover(args: &[&str], dir: &Path) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_cutover")).args(args).current_dir(dir).output().await.unwrap()
}

/// products (integer prices) as the planner sees it in production: 12,000,000 rows in 12 GB
/// (the statistics are set; the table holds no rows).
async fn large_products() -> TestDb {
    let db = TestDb::new().await;
    db.connect()
        .await
        .batch_execute(
            "CREATE TABLE products (id bigint PRIMARY KEY, price_cents integer NOT NULL);
             UPDATE pg_class SET reltuples = 12000000, relpages = 1464844 WHERE oid = 'public.products'::regclass;",
        )
        .await
        .unwrap();
    db
}

const BLOCKED_PLAN: &str = r"Migration plan: 1 phase, 1 step for PostgreSQL 15

BLOCKED: 1 change(s) cannot be made safely; nothing should be applied until they are resolved.

  [downtime_window_exceeded] in the expand phase this step blocks writes to public.products for about 3 minutes (estimated on 12,000,000 rows), longer than the downtime window of 1 minute.
    ALTER TABLE public.products ALTER COLUMN price_cents TYPE bigint USING price_cents::bigint
    - option: widen the downtime window to at least 4 minutes
    - option: ask for zero downtime, so the change is planned online where a recipe exists
    - option: make the change in smaller parts (one table, or one partition, at a time)

Phase 1 of 1: expand — before the new application version: adds what it needs; the running version keeps working

  1. ALTER TABLE public.products ALTER COLUMN price_cents TYPE bigint USING price_cents::bigint;
     locks: ACCESS EXCLUSIVE on public.products · rewrites the table · lock_timeout 2s · statement_timeout 16min
     estimate: about 3 minutes on 12,000,000 rows
     why: Rewrites the table under ACCESS EXCLUSIVE; accepted for a maintenance window (--allow-downtime).
     hazards: access_exclusive_lock, table_rewrite, may_fail_on_existing_data
     rollback: nothing to undo

  Rollback of expand, newest first:
    nothing to run

Review checklist
  [ ] Backward compatibility: no step breaks the application version running now.
  [ ] Index impact: no index is built or dropped.
  [ ] Lock risk: 1 step(s) take a lock that blocks writes (1 of them for longer than a catalog change); each has lock_timeout so it gives up instead of queueing behind long transactions — retry it off-peak if it does.
  [ ] Rollback: every step can be undone; each phase's rollback runs its steps' rollbacks newest first.
  [ ] Monitoring: watch lock waits (pg_stat_activity wait_event_type = 'Lock').
";

const BIGINT_PRICES: &str = "CREATE TABLE products (id bigint PRIMARY KEY, price_cents bigint NOT NULL);\n";

#[tokio::test]
async fn a_step_longer_than_the_downtime_window_is_a_blocker() {
    let db = large_products().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("after.sql"), BIGINT_PRICES).unwrap();
    let url = db.url();
    let plan = |window: &'static str| {
        let url = url.clone();
        let dir = dir.path().to_path_buf();
        async move {
            let args = ["plan", "--from", &url, "--to", "after.sql", "--pg-version", "15", "--downtime-window", window];
            cutover(&args, &dir).await
        }
    };

    let out = plan("1m").await;
    assert_eq!((out.status.code(), text(&out.stderr)), (Some(1), String::new()));
    assert_eq!(text(&out.stdout), BLOCKED_PLAN);

    let out = plan("5m").await;
    assert_eq!((out.status.code(), text(&out.stderr)), (Some(0), String::new()));

    let out = plan("soon").await;
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "error: invalid value 'soon' for '--downtime-window <DURATION>': `soon` is not a duration: write a whole number of seconds, minutes or hours (90s, 5m, 2h)\n\nFor more information, try '--help'.\n"
    );
}

#[tokio::test]
async fn naming_conventions_come_from_cutover_toml() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("m.sql"),
        "CREATE TABLE order_item (id bigint PRIMARY KEY);\nCREATE TABLE order_notes (id bigint PRIMARY KEY);\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("cutover.toml"), "[lint.naming]\ntables = \"plural\"\n").unwrap();
    let out = cutover(&["lint", "m.sql"], dir.path()).await;
    assert_eq!((out.status.code(), text(&out.stderr)), (Some(0), String::new()));
    assert_eq!(
        text(&out.stdout),
        r"warning[naming-convention]: Table name order_item is singular; this schema uses plural table names (cutover.toml).
  --> m.sql:1:1
  |
1 | CREATE TABLE order_item (id bigint PRIMARY KEY);
  | ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  = help: Name it order_items.

1 file checked: 0 errors, 1 warning
"
    );

    std::fs::write(dir.path().join("cutover.toml"), "[lint.naming]\ntables = \"many\"\n").unwrap();
    let out = cutover(&["lint", "m.sql"], dir.path()).await;
    assert_eq!((out.status.code(), text(&out.stdout)), (Some(2), String::new()));
    assert_eq!(
        text(&out.stderr),
        "error: cutover.toml: lint.naming.tables is \"many\"; use \"plural\", \"singular\", \"detect\" or \"off\"\n"
    );

    std::fs::write(dir.path().join("cutover.toml"), "[lint.naming]\nviews = \"plural\"\n").unwrap();
    let out = cutover(&["lint", "m.sql"], dir.path()).await;
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "error: cutover.toml: lint.naming.views is not a key of [lint.naming]; the keys are table_case, column_case, tables, index, primary_key, foreign_key, unique, check\n"
    );
}
