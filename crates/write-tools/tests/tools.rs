//! The files `cutover write` writes, run by the real migration tools on real PostgreSQL.
//!
//! Each test makes a fresh database holding the shop's schema (examples/shop/before.sql) with
//! rows, plans the change to examples/shop/after.sql from the live catalogs (the customers
//! table claimed to hold 50,000 rows, so the plan takes the safe recipes: a type change
//! through a new column with a trigger and a backfill, a concurrent index build), writes the
//! plan in the tool's format into a repository of that tool, runs the tool's own `up`, and
//! checks that the database converged to the target (the diff is empty) and that the rows are
//! intact. Where the tool has a down direction, the written expand migrations are undone too.
//!
//! A backfill above the threshold stops the deploy until the backfill engine has run, as its
//! migration says.
//!
//! The plain `sql` format is run by psql, file by file in order. sqlx and refinery are the
//! crates' own migrators; dbmate, node-pg-migrate, Alembic and Django
//! are installed by `scripts/migration-tools` into target/migration-tools. No test is skipped: a
//! missing tool fails with the command that installs it.

use cutover_db_postgres::introspect::{IntrospectOptions, introspect};
use cutover_plan::planner::{self, Plan, PlanOptions};
use cutover_schema::{Catalog, QualName, TableFacts};
use cutover_test_support::TestDb;
use cutover_write::{Format, NewFile, Options};
use std::path::{Path, PathBuf};
use std::process::Command;

const BEFORE: &str = include_str!("../../../examples/shop/before.sql");
const AFTER: &str = include_str!("../../../examples/shop/after.sql");
const DATA: &str = "INSERT INTO customers (email, name, loyalty_points) SELECT 'c' || g || '@shop.test', 'C' || g, g FROM generate_series(1, 300) g;
INSERT INTO products (sku, title, price_cents) SELECT 'sku-' || g, 'P' || g, g * 10 FROM generate_series(1, 20) g;
INSERT INTO orders (customer_id, status, total_cents, legacy_ref) SELECT g % 300 + 1, 'paid', g, 'r' || g FROM generate_series(1, 500) g;
ANALYZE;";

/// A database in the shop's old state, the target catalog, and the plan between them.
struct Case {
    db: TestDb,
    desired: Catalog,
    plan: Plan,
    repo: tempfile::TempDir,
}

/// The tables each tool keeps its own history in; not part of the schema being compared.
const HISTORY_TABLES: &[&str] = &[
    "_sqlx_migrations",
    "refinery_schema_history",
    "schema_migrations",
    "pgmigrations",
    "alembic_version",
    "django_migrations",
];

/// The database's catalog, without the migration tools' history tables (and their sequences).
async fn read(db: &TestDb) -> Catalog {
    let mut catalog = introspect(&db.connect().await, &IntrospectOptions::default()).await.expect("introspect");
    for name in HISTORY_TABLES {
        catalog.tables.remove(&QualName::new("public", *name));
        catalog.sequences.remove(&QualName::new("public", format!("{name}_id_seq")));
    }
    catalog
}

async fn case() -> Case {
    let case = case_of(&format!("{BEFORE}\n{DATA}"), AFTER).await;
    let backfill = case.plan.steps().find(|(_, s)| s.backfill.is_some()).map(|(_, s)| s.estimate.clone());
    assert_eq!(backfill.flatten().map(|e| e.rows), Some(50_000), "the plan has a backfill of the 50,000 rows");
    assert!(case.plan.steps().any(|(_, s)| !s.transactional), "the plan has a step outside a transaction");
    case
}

/// Names and text that each host language would read as something else if it were not quoted
/// right: Python and JavaScript escapes and interpolation, driver placeholders (`%s`,
/// `%(x)s`, `:name`), Ruby heredoc terminators, triple quotes, backticks, `${...}`.
const HOSTILE_BEFORE: &str = r#"CREATE TABLE "we ird""${x}%s\`'" (id bigint PRIMARY KEY, "a:b" integer NOT NULL);
CREATE TABLE customers (id bigint PRIMARY KEY, loyalty_points integer NOT NULL DEFAULT 0);
INSERT INTO "we ird""${x}%s\`'" SELECT g, g FROM generate_series(1, 50) g;
INSERT INTO customers SELECT g, 0 FROM generate_series(1, 300) g;
ANALYZE;"#;
const HOSTILE_AFTER: &str = r#"CREATE TABLE "we ird""${x}%s\`'" (id bigint PRIMARY KEY, "a:b" integer NOT NULL,
  "new %(x)s :y `z` ${w} \n" text DEFAULT '%s :x ${y} `q` """ \');
CREATE INDEX "i%s ${j}" ON "we ird""${x}%s\`'" ("a:b");
COMMENT ON TABLE "we ird""${x}%s\`'" IS 'first line
SQL
SQL1
"""
`${x}` %s %(y)s :z \ end';
CREATE TABLE customers (id bigint PRIMARY KEY, loyalty_points integer NOT NULL DEFAULT 0);"#;

/// The hostile schema's plan: columns, a concurrent index and a comment with hostile names.
async fn hostile_case() -> Case {
    let case = case_of(HOSTILE_BEFORE, HOSTILE_AFTER).await;
    assert!(case.plan.steps().any(|(_, s)| !s.transactional), "the index is built concurrently");
    case
}

/// A database holding `before`, the catalog of `after`, and the plan between them (with the
/// customers table claimed to hold 50,000 rows).
async fn case_of(before: &str, after: &str) -> Case {
    let db = TestDb::new().await;
    db.connect().await.batch_execute(before).await.expect("load the old schema");
    let to = TestDb::new().await;
    to.connect().await.batch_execute(after).await.expect("load the new schema");
    let mut current = read(&db).await;
    let desired = read(&to).await;
    // As a production table would be: too large to lock or rewrite, small enough for a
    // backfill inside a migration (below the default threshold of 100,000 rows).
    current
        .facts
        .tables
        .insert(QualName::new("public", "customers"), TableFacts { rows: Some(50_000), bytes: 8_000_000 });
    let plan = planner::plan(&current, &desired, &PlanOptions::default());
    assert!(plan.blockers.is_empty(), "{}", planner::render_human(&plan));
    Case { db, desired, plan, repo: tempfile::tempdir().unwrap() }
}

impl Case {
    /// Writes `files` of the repository's own, then the plan in `format`.
    fn write(&self, format: Format, files: &[(&str, &str)]) -> Vec<NewFile> {
        self.write_with(format, files, Options::default().backfill_threshold_rows)
    }

    /// Like [`Case::write`], with a backfill threshold.
    fn write_with(&self, format: Format, files: &[(&str, &str)], backfill_threshold_rows: u64) -> Vec<NewFile> {
        for (path, text) in files {
            let path = self.repo.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let repo = cutover_write::MemoryRepo::new(files.iter().map(|(p, t)| (p.to_string(), t.to_string())));
        let options = Options {
            format: Some(format),
            issue: Some("ENG-7".into()),
            name: Some("shop refunds".into()),
            now_unix_ms: 1_796_677_469_000,
            backfill_threshold_rows,
            plan_path: Some("plan.json".into()),
            ..Options::default()
        };
        let written = cutover_write::write(&repo, &self.plan, &options).expect("write");
        for f in &written.files {
            let path = self.repo.path().join(&f.path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, &f.contents).unwrap();
        }
        written.files
    }

    fn dir(&self, sub: &str) -> PathBuf {
        self.repo.path().join(sub)
    }

    /// The database holds the target schema.
    async fn schema_converged(&self) {
        let after = read(&self.db).await;
        let diff = cutover_plan::diff(&after, &self.desired, &Default::default());
        assert!(diff.is_empty(), "not converged; still to do:\n{}", diff.to_sql());
    }

    /// The database converged to after.sql, and no row was lost or changed on the way.
    async fn converged(&self) {
        self.schema_converged().await;
        let client = self.db.connect().await;
        let row = client
            .query_one(
                "SELECT (SELECT count(*) FROM customers), (SELECT sum(loyalty_points)::bigint FROM customers), \
                 (SELECT count(*) FROM orders), pg_typeof((SELECT loyalty_points FROM customers LIMIT 1))::text",
                &[],
            )
            .await
            .unwrap();
        let (customers, points, orders, ty): (i64, i64, i64, String) = (row.get(0), row.get(1), row.get(2), row.get(3));
        assert_eq!((customers, points, orders, ty.as_str()), (300, 45_150, 500, "bigint"));
    }

    /// Whether a table has a column, for checks after a down migration.
    async fn has_column(&self, table: &str, column: &str) -> bool {
        let client = self.db.connect().await;
        client
            .query_one(
                "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 AND column_name = $2",
                &[&table, &column],
            )
            .await
            .map(|r| r.get::<_, i64>(0) == 1)
            .unwrap()
    }
}

/// Where scripts/migration-tools installed the tools.
fn tools_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("CUTOVER_MIGRATION_TOOLS") {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/migration-tools")
}

fn tool(relative: &str) -> PathBuf {
    let path = tools_dir().join(relative);
    assert!(
        path.exists(),
        "{} is not installed: run `scripts/migration-tools` (it installs dbmate and node-pg-migrate with npm and Alembic and Django with pip into {})",
        path.display(),
        tools_dir().display()
    );
    path
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("could not run {cmd:?}: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{cmd:?} failed ({}):\n{text}", out.status);
    text
}

#[tokio::test]
async fn sqlx_migrator_runs_the_files() {
    let case = case().await;
    let files = case.write(Format::Sqlx, &[("Cargo.toml", "[dependencies]\nsqlx = \"0.9\"\n")]);
    assert!(files.iter().any(|f| f.contents.starts_with("-- no-transaction\n")), "a file runs outside a transaction");
    let migrator = sqlx::migrate::Migrator::new(case.dir("migrations")).await.expect("sqlx reads the migrations");
    let pool = sqlx::PgPool::connect(&case.db.url()).await.unwrap();
    migrator.run(&pool).await.expect("sqlx runs the migrations");
    case.converged().await;
    // The contract migration drops data: its down direction refuses, naming why.
    let latest = files.last().unwrap().path.trim_start_matches("migrations/")[..14].parse::<i64>().unwrap();
    let err = migrator.undo(&pool, latest - 1).await.expect_err("the contract cannot be undone");
    assert!(err.to_string().contains("cannot be undone: contract.2"), "{err}");
}

#[tokio::test]
async fn sqlx_migrator_undoes_the_expand_phase_to_the_old_schema() {
    let mut case = case().await;
    let before = read(&case.db).await;
    case.plan.phases.truncate(1);
    case.write(Format::Sqlx, &[]);
    let migrator = sqlx::migrate::Migrator::new(case.dir("migrations")).await.unwrap();
    let pool = sqlx::PgPool::connect(&case.db.url()).await.unwrap();
    migrator.run(&pool).await.expect("sqlx runs the expand migrations");
    assert!(case.has_column("orders", "refunded_at").await);
    migrator.undo(&pool, 0).await.expect("sqlx undoes every expand migration, the concurrent index drop included");
    let mut after = read(&case.db).await;
    // An enum value cannot be removed (the plan says so: nothing to undo); everything else is back.
    let status = QualName::new("public", "order_status");
    assert_ne!(after.types[&status], before.types[&status], "the new enum value stays");
    after.types.insert(status.clone(), before.types[&status].clone());
    let diff = cutover_plan::diff(&after, &before, &Default::default());
    assert!(diff.is_empty(), "left after the undo:\n{}", diff.to_sql());
    assert!(
        !case.has_column("orders", "refunded_at").await
            && !case.has_column("customers", "loyalty_points_cutover_new").await
    );
}

#[tokio::test]
async fn refinery_runner_runs_the_files_after_the_concurrent_steps() {
    let case = case().await;
    let files = case.write(Format::Refinery, &[("Cargo.toml", "[dependencies]\nrefinery = \"0.10\"\n")]);
    let migrations: Vec<refinery::Migration> = files
        .iter()
        .map(|f| {
            let name = f.path.trim_start_matches("migrations/").trim_end_matches(".sql");
            refinery::Migration::unapplied(name, &f.contents).expect("refinery accepts the name")
        })
        .collect();
    let runner = refinery::Runner::new(&migrations);
    let (mut client, connection) = tokio_postgres::connect(&case.db.url(), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    // refinery runs every migration in a transaction: the index build the plan makes
    // concurrently is refused until it was run by hand, as its migration says.
    let err = runner.run_async(&mut client).await.expect_err("the index check stops refinery");
    let err = format!("{err:?}");
    assert!(err.contains("orders_customer_placed_idx is missing or INVALID"), "{err}");
    for (_, step) in case.plan.steps().filter(|(_, s)| !s.transactional) {
        client.batch_execute(&step.sql).await.unwrap();
    }
    let runner = refinery::Runner::new(&migrations);
    runner.run_async(&mut client).await.expect("refinery runs the rest");
    case.converged().await;
}

/// `dbmate` with the repository's migrations, against the case's database.
fn dbmate(case: &Case, args: &[&str]) -> Command {
    let mut cmd = Command::new(tool("node/node_modules/.bin/dbmate"));
    cmd.current_dir(case.repo.path())
        .env("DATABASE_URL", format!("{}?sslmode=disable", case.db.url()))
        .args(["--no-dump-schema", "--migrations-dir", "db/migrations"])
        .args(args);
    cmd
}

#[tokio::test]
async fn dbmate_runs_the_files_and_rolls_back() {
    let case = case().await;
    let files = case.write(Format::Dbmate, &[]);
    assert!(files.iter().any(|f| f.contents.starts_with("-- migrate:up transaction:false\n")));
    run(&mut dbmate(&case, &["up"]));
    case.converged().await;
    // The contract migration drops data: its down direction refuses.
    let text = format!("{:?}", dbmate(&case, &["rollback"]).output().unwrap());
    assert!(text.contains("cannot be undone"), "{text}");
}

#[tokio::test]
async fn a_large_backfill_waits_for_the_engine_between_two_dbmate_runs() {
    let case = case().await;
    let files = case.write_with(Format::Dbmate, &[], 10_000);
    let backfill = files.iter().find(|f| f.path.contains("_backfill")).unwrap();
    assert!(
        backfill
            .contents
            .contains("cutover backfill run --database \"$DATABASE_URL\" --plan plan.json --step backfill.1")
    );
    // The first deploy stops at the backfill: the expand migrations are in, the switch is not.
    let out = dbmate(&case, &["up"]).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("the backfill of public.customers.loyalty_points_cutover_new is not done"), "{text}");
    assert!(case.has_column("customers", "loyalty_points_cutover_new").await);
    // What the migration says to run: the backfill engine (`cutover backfill run`), then deploy again.
    let plan = serde_json::to_vec(&case.plan).unwrap();
    let checksum = cutover_db_postgres::apply::checksum(&plan);
    let target = cutover_db_postgres::connect::Target::parse(&case.db.url()).unwrap();
    let file = cutover_db_postgres::apply::PlanFile { plan: &case.plan, checksum: &checksum };
    let options = cutover_db_postgres::backfill::Options::default();
    let done = cutover_db_postgres::backfill::run_plan(&target, file, None, &options, &mut |_, _| {}).await.unwrap();
    assert_eq!(done.len(), 1);
    run(&mut dbmate(&case, &["up"]));
    case.converged().await;
}

#[tokio::test]
async fn dbmate_runs_hostile_names() {
    let case = hostile_case().await;
    case.write(Format::Dbmate, &[]);
    run(&mut dbmate(&case, &["up"]));
    case.schema_converged().await;
}

fn node_pg_migrate(case: &Case) {
    case.write(Format::NodePgMigrate, &[("package.json", "{ \"private\": true }\n")]);
    let bin = tool("node/node_modules/node-pg-migrate/bin/node-pg-migrate.js");
    run(Command::new("node").arg(&bin).current_dir(case.repo.path()).env("DATABASE_URL", case.db.url()).args([
        "up",
        "--migrations-dir",
        "migrations",
        "--no-check-order",
        "--no-single-transaction",
    ]));
}

#[tokio::test]
async fn node_pg_migrate_runs_the_files() {
    let case = case().await;
    node_pg_migrate(&case);
    case.converged().await;
}

#[tokio::test]
async fn node_pg_migrate_runs_hostile_names() {
    let case = hostile_case().await;
    node_pg_migrate(&case);
    case.schema_converged().await;
}

/// Writes the Alembic migrations with an env.py that commits each migration on its own, and
/// returns a command for `alembic ARGS`.
fn alembic(case: &Case) -> impl Fn(&[&str]) -> Command + '_ {
    let env_py = "from alembic import context\nfrom sqlalchemy import create_engine\nimport os\n\n\
engine = create_engine(os.environ[\"DATABASE_URL\"])\nwith engine.connect() as connection:\n    \
context.configure(connection=connection, transaction_per_migration=True)\n    with context.begin_transaction():\n        context.run_migrations()\n";
    let ini = "[alembic]\nscript_location = %(here)s/alembic\n";
    case.write(Format::Alembic, &[("alembic.ini", ini), ("alembic/env.py", env_py)]);
    let alembic = tool("venv/bin/alembic");
    let url = case.db.url().replacen("postgresql://", "postgresql+psycopg://", 1).replacen(
        "postgres://",
        "postgresql+psycopg://",
        1,
    );
    move |args: &[&str]| {
        let mut c = Command::new(&alembic);
        c.current_dir(case.repo.path()).env("DATABASE_URL", &url).args(args);
        c
    }
}

#[tokio::test]
async fn alembic_runs_the_files_with_autocommit_blocks_and_downgrades() {
    let case = case().await;
    let cmd = alembic(&case);
    run(&mut cmd(&["upgrade", "head"]));
    case.converged().await;
    let text = format!("{:?}", cmd(&["downgrade", "-1"]).output().unwrap());
    assert!(text.contains("cannot be undone"), "the contract migration refuses to go down: {text}");
}

#[tokio::test]
async fn alembic_runs_hostile_names_and_downgrades_them() {
    let case = hostile_case().await;
    let before = read(&case.db).await;
    let cmd = alembic(&case);
    run(&mut cmd(&["upgrade", "head"]));
    case.schema_converged().await;
    run(&mut cmd(&["downgrade", "base"]));
    let after = read(&case.db).await;
    // The plan gives the comment step no rollback ("documentation only"): the comment stays.
    let diff = cutover_plan::diff(&after, &before, &Default::default());
    let left: Vec<String> = diff.changes.iter().map(|c| c.sql()).collect();
    assert_eq!(left, [r#"COMMENT ON TABLE public."we ird""${x}%s\`'" IS NULL"#], "left after downgrading");
}

fn django(case: &Case) -> Vec<NewFile> {
    let settings = "import os\nfrom urllib.parse import urlparse\n\nu = urlparse(os.environ[\"DATABASE_URL\"])\n\
DATABASES = {\"default\": {\"ENGINE\": \"django.db.backends.postgresql\", \"NAME\": u.path[1:], \"USER\": u.username or \"\",\n    \
\"PASSWORD\": u.password or \"\", \"HOST\": u.hostname, \"PORT\": u.port or 5432}}\n\
INSTALLED_APPS = [\"shop\"]\nSECRET_KEY = \"test\"\nUSE_TZ = True\n";
    let files = case.write(
        Format::Django,
        &[
            ("manage.py", "import django\n"),
            ("settings.py", settings),
            ("shop/__init__.py", ""),
            ("shop/migrations/__init__.py", ""),
        ],
    );
    let python = tool("venv/bin/python");
    run(Command::new(&python)
        .current_dir(case.repo.path())
        .env("DATABASE_URL", case.db.url())
        .env("DJANGO_SETTINGS_MODULE", "settings")
        .env("PYTHONPATH", case.repo.path())
        .args(["-m", "django", "migrate", "shop", "--no-input"]));
    files
}

#[tokio::test]
async fn django_runs_the_files_in_an_app() {
    let case = case().await;
    let files = django(&case);
    assert!(files.iter().any(|f| f.contents.contains("    atomic = False\n")));
    case.converged().await;
}

#[tokio::test]
async fn django_runs_hostile_names() {
    let case = hostile_case().await;
    django(&case);
    case.schema_converged().await;
}

#[tokio::test]
async fn sqlx_runs_hostile_names() {
    let case = hostile_case().await;
    case.write(Format::Sqlx, &[]);
    let migrator = sqlx::migrate::Migrator::new(case.dir("migrations")).await.unwrap();
    let pool = sqlx::PgPool::connect(&case.db.url()).await.unwrap();
    migrator.run(&pool).await.expect("sqlx runs the migrations");
    case.schema_converged().await;
}

/// psql, the runner of plain SQL files: the client package that comes with the server binaries
/// the tests already need (scripts/lib/common.sh installs them).
fn psql() -> PathBuf {
    let candidates = std::iter::once(PathBuf::from("/usr/bin/psql")).chain(
        std::fs::read_dir("/usr/lib/postgresql").into_iter().flatten().flatten().map(|e| e.path().join("bin/psql")),
    );
    candidates.into_iter().find(|p| p.exists()).unwrap_or_else(|| {
        panic!("psql is not installed: run `apt-get install -y postgresql-client` (scripts/test installs the server package, which brings it)")
    })
}

#[tokio::test]
async fn psql_runs_the_plain_sql_files_in_order() {
    let case = case().await;
    let files = case.write(Format::Sql, &[]);
    for f in &files {
        run(Command::new(psql())
            .arg(case.db.url())
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-f"])
            .arg(case.repo.path().join(&f.path)));
    }
    case.converged().await;
}
