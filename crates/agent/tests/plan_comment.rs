//! The plan comment's review: a request planned against a real PostgreSQL (the shop's schema),
//! reviewed by the linter against the catalog the planner read, and the comment's sections
//! after the plan (design advice, lint findings, the answer line) as snapshots. Names in the
//! findings come from the request and are escaped; a step longer than the request's downtime
//! window is a blocker in the same comment.

use cutover_agent::PlanningConfig;
use cutover_agent::messages::plan_comment_reviewed;
use cutover_agent::planning::{Planned, ReviewSource, plan_reviewed};
use cutover_db_postgres::source::apply_sql;
use cutover_plan::planner::{DOWNTIME_WINDOW_EXCEEDED, Flavor, render_markdown};
use cutover_test_support::{TestDb, dev_server};

const SHOP: &str = include_str!("../../../examples/shop/before.sql");

fn description(proposed: &str, downtime: &str) -> String {
    format!(
        "## Objective\nKeep notes on orders.\n\n## Proposed schema changes\n{proposed}\n\n## Migration type\nadditive\n\n## Downtime tolerance\n{downtime}\n"
    )
}

fn sql(block: &str) -> String {
    format!("```sql\n{block}\n```")
}

/// The shop's schema in a fresh database, and the planning config that reads it.
async fn shop(repo: &std::path::Path) -> (TestDb, PlanningConfig) {
    let db = TestDb::new().await;
    apply_sql(&db.connect().await, "shop.sql".as_ref(), SHOP).await.expect("shop schema");
    let config = PlanningConfig::new(db.url(), dev_server(), repo.to_path_buf());
    (db, config)
}

async fn planned(config: &PlanningConfig, description: &str) -> Planned {
    let request = cutover_request::parse(description).request.expect("a complete request");
    plan_reviewed(config, &request, "ENG-1").await.expect("a plan")
}

/// The comment after the plan's own rendering (which must come first, unchanged).
fn after_the_plan(planned: &Planned, in_session: bool) -> String {
    let comment = plan_comment_reviewed(&planned.plan, &planned.review, in_session);
    let plan = render_markdown(&planned.plan, Flavor::Linear);
    comment.strip_prefix(&plan).unwrap_or_else(|| panic!("the plan comes first:\n{comment}")).to_string()
}

#[tokio::test]
async fn design_advice_and_lint_findings_of_the_proposed_sql_follow_the_plan() {
    let (_db, config) = shop(std::path::Path::new(".")).await;
    let proposed = sql(
        "CREATE TABLE order_notes (\n    order_id bigint NOT NULL REFERENCES orders (id),\n    body text NOT NULL,\n    status text NOT NULL,\n    refund_amount double precision\n);\nALTER TABLE orders ADD COLUMN discount_total real;\nCREATE INDEX orders_placed_at_idx ON orders (placed_at);",
    );
    let planned = planned(&config, &description(&proposed, "zero-downtime")).await;
    assert_eq!(planned.review.source, ReviewSource::RequestSql);
    insta::assert_snapshot!(after_the_plan(&planned, true), @r"

    ### Design advice (5)

    What a reviewer would change in the schema this request makes:

    - **warning** `money-in-floating-point` (line 6 of the description): Column order_notes.refund_amount holds money in double precision, a binary floating-point type: amounts like 0.10 are stored inexactly and sums drift.
      Fix: Use numeric with an explicit scale (numeric(12,2)), or bigint in the currency's minor unit (amount_cents).
    - **warning** `free-text-instead-of-lookup` (line 6 of the description): Column order_notes.status is free text (text), but this schema keeps status in the enum type public.order_status (orders.status is of that type).
      Fix: Use the enum type public.order_status (or a new enum type for this table's values) instead of free text.
    - **warning** `table-without-primary-key` (line 6 of the description): Table order_notes has no primary key, so its rows cannot be addressed one by one (single-row updates and deletes, logical replication, keyset backfills).
      Fix: Add a primary key: a bigint identity column (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY), or PRIMARY KEY on the natural key.
    - **warning** `foreign-key-without-index` (line 6 of the description): Foreign key order_notes(order_id) → orders has no index on order_notes that starts with (order_id): each delete or key update in orders scans order_notes.
      Fix: Add CREATE INDEX order_notes_order_id_idx ON order_notes (order_id);
    - **warning** `money-in-floating-point` (line 12 of the description): Column orders.discount_total holds money in real, a binary floating-point type: amounts like 0.10 are stored inexactly and sums drift.
      Fix: Use numeric with an explicit scale (numeric(12,2)), or bigint in the currency's minor unit (amount_cents).

    +++ Lint findings on the proposed SQL (1)

    How the SQL as written would run on the live database; the plan's steps are built to avoid these where a safe recipe exists.

    - **error** `add-index-non-concurrently` (line 13 of the description): Building index orders_placed_at_idx on orders without CONCURRENTLY blocks writes to orders (SHARE lock) for the whole build.
      Fix: Use CREATE INDEX CONCURRENTLY in a migration that runs outside a transaction block.

    +++

    ---
    _Approve or request changes in the agent session; on approval Cutover creates one sub-issue per phase._
    ");
}

#[tokio::test]
async fn a_desired_schema_path_is_reviewed_through_the_plans_statements() {
    let repo = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(repo.path().join("db")).unwrap();
    std::fs::write(
        repo.path().join("db/schema.sql"),
        format!(
            "{SHOP}\nCREATE TABLE order_notes (order_id bigint NOT NULL REFERENCES orders (id), body text NOT NULL);\n"
        ),
    )
    .unwrap();
    let (_db, config) = shop(repo.path()).await;
    let planned = planned(&config, &description("Desired schema: `db/schema.sql`", "zero-downtime")).await;
    assert_eq!(planned.review.source, ReviewSource::PlanSteps);
    insta::assert_snapshot!(after_the_plan(&planned, false), @r"

    ### Design advice (2)

    What a reviewer would change in the schema this request makes:

    - **warning** `table-without-primary-key` (expand phase, step 1): Table public.order_notes has no primary key, so its rows cannot be addressed one by one (single-row updates and deletes, logical replication, keyset backfills).
      Fix: Add a primary key: a bigint identity column (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY), or PRIMARY KEY on the natural key.
    - **warning** `foreign-key-without-index` (expand phase, step 2): Foreign key public.order_notes(order_id) → public.orders has no index on public.order_notes that starts with (order_id): each delete or key update in public.orders scans public.order_notes.
      Fix: Add CREATE INDEX order_notes_order_id_idx ON public.order_notes (order_id);

    ---
    _Reply mentioning Cutover with **approve** to create one sub-issue per phase, or with the changes you want._
    ");
}

#[tokio::test]
async fn names_from_the_request_are_escaped_in_the_findings() {
    let (_db, config) = shop(std::path::Path::new(".")).await;
    let proposed = sql("CREATE TABLE \"x](https://evil.example) <b>`\n+++ hi\" (body text);");
    let planned = planned(&config, &description(&proposed, "zero-downtime")).await;
    let section = after_the_plan(&planned, true);
    let finding = section.lines().find(|l| l.contains("table-without-primary-key")).expect("the finding");
    assert_eq!(
        finding,
        r"- **warning** `table-without-primary-key` (line 6 of the description): Table x\](https://evil.example) \<b\>\` +++ hi has no primary key, so its rows cannot be addressed one by one (single-row updates and deletes, logical replication, keyset backfills)."
    );
    assert!(!section.lines().any(|l| l.starts_with("+++ hi")), "{section}");
}

#[tokio::test]
async fn a_step_longer_than_the_downtime_window_is_a_blocker() {
    let (db, config) = shop(std::path::Path::new(".")).await;
    // products as the planner will see it in production: 12,000,000 rows in 12 GB.
    db.connect()
        .await
        .batch_execute(
            "UPDATE pg_class SET reltuples = 12000000, relpages = 1464844 WHERE oid = 'public.products'::regclass",
        )
        .await
        .unwrap();
    let proposed = sql("ALTER TABLE products ALTER COLUMN price_cents TYPE bigint;");
    let within = planned(&config, &description(&proposed, "a 5 minute window, Sunday 02:00 UTC")).await;
    assert_eq!(within.plan.blockers, vec![]);
    let outside = planned(&config, &description(&proposed, "1 minute window")).await;
    let codes: Vec<&str> = outside.plan.blockers.iter().map(|b| b.code.as_str()).collect();
    assert_eq!(codes, [DOWNTIME_WINDOW_EXCEEDED.as_str()]);
    let comment = plan_comment_reviewed(&outside.plan, &outside.review, true);
    let blocker = comment.lines().find(|l| l.contains("downtime window")).expect("the blocker in the comment");
    assert_eq!(
        blocker,
        "**`downtime_window_exceeded`** — in the expand phase this step blocks writes to public.products for about 3 minutes (estimated on 12,000,000 rows), longer than the downtime window of 1 minute."
    );
}

#[tokio::test]
async fn more_than_five_design_findings_fold_into_a_section() {
    let (_db, config) = shop(std::path::Path::new(".")).await;
    let columns: Vec<String> =
        ["price", "cost", "fee", "tax", "total", "balance"].iter().map(|c| format!("{c} real")).collect();
    let proposed = sql(&format!("CREATE TABLE quotes (id bigint PRIMARY KEY, {});", columns.join(", ")));
    let planned = planned(&config, &description(&proposed, "zero-downtime")).await;
    let section = after_the_plan(&planned, true);
    let lines: Vec<&str> = section.lines().collect();
    assert_eq!(lines[1], "+++ Design advice (6)", "{section}");
    assert_eq!(lines.iter().filter(|l| **l == "+++").count(), 1, "{section}");
    assert_eq!(lines.iter().filter(|l| l.starts_with("- **warning** `money-in-floating-point`")).count(), 6);
}
