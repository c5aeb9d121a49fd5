//! Golden files: the shop's plan (examples/shop) written into a small repository of each
//! format, detected from its files, numbered after its last migration. Each snapshot holds
//! every new file and the notes; they were checked against each tool's documentation (and,
//! for the formats that can be installed here, are run by crates/write-tools).

use cutover_plan::planner::{Estimate, Plan};
use cutover_write::{Format, MemoryRepo, Options, Problem, Written, write};

/// 2026-12-07 21:04:29.000 UTC.
const NOW_MS: i64 = 1_796_677_469_000;

fn shop_plan() -> Plan {
    serde_json::from_str(include_str!("data/shop.plan.json")).unwrap()
}

/// The plan with its backfill's table estimated at `rows`.
fn with_backfill_rows(mut plan: Plan, rows: u64) -> Plan {
    for phase in &mut plan.phases {
        for step in &mut phase.steps {
            if step.backfill.is_some() {
                step.estimate = Some(Estimate { rows, seconds: 1.0 });
            }
        }
    }
    plan
}

fn options() -> Options {
    Options {
        issue: Some("ENG-123".into()),
        name: Some("Add refunds".into()),
        now_unix_ms: NOW_MS,
        plan_path: Some("plans/eng-123.json".into()),
        ..Options::default()
    }
}

fn render(written: &Written) -> String {
    let mut out = format!("format: {}\ndirectory: {}\n", written.format, written.directory);
    for note in &written.notes {
        out.push_str(&format!("note: {note}\n"));
    }
    for f in &written.files {
        out.push_str(&format!("\n=== {} ===\n{}", f.path, f.contents));
    }
    out
}

/// A repository of each format with one migration already in it.
fn repo(format: Format) -> MemoryRepo {
    match format {
        Format::Sql => MemoryRepo::new([("migrations/0007_init.sql", "CREATE TABLE t ();")]),
        Format::GolangMigrate => MemoryRepo::new([
            ("go.mod", "module shop\nrequire github.com/golang-migrate/migrate/v4 v4.18.1\n"),
            ("db/migrations/000003_init.up.sql", "CREATE TABLE t ();"),
            ("db/migrations/000003_init.down.sql", "DROP TABLE t;"),
        ]),
        Format::Dbmate => MemoryRepo::new([(
            "db/migrations/20240101000000_init.sql",
            "-- migrate:up\nCREATE TABLE t ();\n-- migrate:down\nDROP TABLE t;\n",
        )]),
        Format::Flyway => MemoryRepo::new([
            ("pom.xml", "<project/>"),
            ("src/main/resources/db/migration/V3__init.sql", "CREATE TABLE t ();"),
            ("src/main/resources/db/migration/V3.1__seed.sql", "INSERT INTO t DEFAULT VALUES;"),
        ]),
        Format::Sqlx => MemoryRepo::new([
            ("Cargo.toml", "[dependencies]\nsqlx = { version = \"0.8\", features = [\"postgres\"] }\n"),
            ("migrations/20240101000000_init.up.sql", "CREATE TABLE t ();"),
            ("migrations/20240101000000_init.down.sql", "DROP TABLE t;"),
        ]),
        Format::Refinery => MemoryRepo::new([
            ("Cargo.toml", "[dependencies]\nrefinery = \"0.10\"\n"),
            ("migrations/V2__init.sql", "CREATE TABLE t ();"),
        ]),
        Format::Alembic => MemoryRepo::new([
            ("alembic.ini", "[alembic]\nscript_location = %(here)s/migrations\n"),
            ("migrations/env.py", "from alembic import context\n"),
            (
                "migrations/versions/1a2b3c4d5e6f_init.py",
                "revision = \"1a2b3c4d5e6f\"\ndown_revision = \"0f0f0f0f0f0f\"\n",
            ),
            ("migrations/versions/0f0f0f0f0f0f_base.py", "revision: str = '0f0f0f0f0f0f'\ndown_revision = None\n"),
        ]),
        Format::Django => MemoryRepo::new([
            ("manage.py", "import django\n"),
            ("shop/migrations/__init__.py", ""),
            ("shop/migrations/0001_initial.py", "from django.db import migrations, models\n"),
            ("shop/migrations/0002_orders.py", "from django.db import migrations\n"),
        ]),
        Format::Rails => MemoryRepo::new([
            ("Gemfile", "gem \"rails\"\n"),
            ("db/migrate/20240101000000_create_orders.rb", "class CreateOrders < ActiveRecord::Migration[7.1]\nend\n"),
        ]),
        Format::Prisma => MemoryRepo::new([
            ("prisma/schema.prisma", "datasource db { provider = \"postgresql\" }\n"),
            ("prisma/migrations/migration_lock.toml", "provider = \"postgresql\"\n"),
            ("prisma/migrations/20240101000000_init/migration.sql", "CREATE TABLE t ();"),
        ]),
        Format::NodePgMigrate => MemoryRepo::new([
            ("package.json", "{ \"devDependencies\": { \"node-pg-migrate\": \"^8.0.0\" } }\n"),
            ("migrations/1704067200000_init.js", "exports.up = (pgm) => {};\n"),
        ]),
    }
}

fn check(format: Format) {
    let written = write(&repo(format), &with_backfill_rows(shop_plan(), 2_000), &options()).unwrap();
    assert_eq!(written.format, format, "detected from the repository's files");
    insta::assert_snapshot!(format.name(), render(&written));
}

#[test]
fn sql() {
    check(Format::Sql);
}
#[test]
fn golang_migrate() {
    check(Format::GolangMigrate);
}
#[test]
fn dbmate() {
    check(Format::Dbmate);
}
#[test]
fn flyway() {
    check(Format::Flyway);
}
#[test]
fn sqlx() {
    check(Format::Sqlx);
}
#[test]
fn refinery() {
    check(Format::Refinery);
}
#[test]
fn alembic() {
    check(Format::Alembic);
}
#[test]
fn django() {
    check(Format::Django);
}
#[test]
fn rails() {
    check(Format::Rails);
}
#[test]
fn prisma() {
    check(Format::Prisma);
}
#[test]
fn node_pg_migrate() {
    check(Format::NodePgMigrate);
}

#[test]
fn a_large_backfill_is_left_to_the_engine_and_checked() {
    let written = write(&repo(Format::Dbmate), &with_backfill_rows(shop_plan(), 5_000_000), &options()).unwrap();
    insta::assert_snapshot!("dbmate_large_backfill", render(&written));
}

#[test]
fn an_empty_repository_gets_plain_sql_and_the_format_can_be_set() {
    let empty = MemoryRepo::default();
    let written = write(&empty, &shop_plan(), &options()).unwrap();
    assert_eq!((written.format, written.directory.as_str()), (Format::Sql, "migrations"));
    assert_eq!(written.files[0].path, "migrations/0001_eng_123_add_refunds_expand_1.sql");
    let set = Options { format: Some(Format::Rails), ..options() };
    let written = write(&repo(Format::Django), &shop_plan(), &set).unwrap();
    assert_eq!(written.format, Format::Rails);
    assert_eq!(written.files[0].path, "db/migrate/20261207210429_eng_123_add_refunds_expand_1.rb");
    assert_eq!(written.files[1].path, "db/migrate/20261207210430_eng_123_add_refunds_expand_2.rb");
}

#[test]
fn timestamps_follow_the_last_migration_when_it_is_in_the_future() {
    let repo = MemoryRepo::new([("db/migrations/20301231235959_later.sql", "-- migrate:up\n")]);
    let written = write(&repo, &shop_plan(), &options()).unwrap();
    assert_eq!(written.files[0].path, "db/migrations/20310101000000_eng_123_add_refunds_expand_1.sql");
}

#[test]
fn problems_are_one_sentence() {
    let mut blocked = shop_plan();
    blocked.blockers.push(cutover_plan::planner::Blocker {
        code: cutover_plan::BlockerCode::PersistenceRewrite,
        sql: "DROP TABLE t".into(),
        message: "m".into(),
        options: vec![],
        hazards: vec![],
    });
    let err = write(&MemoryRepo::default(), &blocked, &options()).unwrap_err();
    assert_eq!(err.to_string(), "the plan has 1 blocker(s): resolve them and plan again before writing migrations");
    let empty = Plan { phases: vec![], ..shop_plan() };
    assert_eq!(write(&MemoryRepo::default(), &empty, &options()).unwrap_err(), Problem::EmptyPlan);
    let bad = Options { name: Some("!!!".into()), ..options() };
    assert_eq!(
        write(&MemoryRepo::default(), &shop_plan(), &bad).unwrap_err().to_string(),
        "the name `!!!` has no letter or digit to make a file name from"
    );
    let existing = MemoryRepo::new([("migrations/0001_eng_123_add_refunds_expand_1.sql", "")]);
    // The next number is 0002: nothing collides. A file in the way is named.
    assert!(write(&existing, &shop_plan(), &options()).is_ok());
    let heads = MemoryRepo::new([
        ("alembic.ini", "[alembic]\nscript_location = alembic\n"),
        ("alembic/versions/a_one.py", "revision = 'aaa'\ndown_revision = None\n"),
        ("alembic/versions/b_two.py", "revision = 'bbb'\ndown_revision = None\n"),
    ]);
    assert_eq!(
        write(&heads, &shop_plan(), &options()).unwrap_err().to_string(),
        "the Alembic revisions have 2 heads (aaa, bbb); merge them (alembic merge heads) before writing"
    );
    let two_apps = MemoryRepo::new([("a/migrations/__init__.py", ""), ("b/migrations/__init__.py", "")]);
    let django = Options { format: Some(Format::Django), ..options() };
    assert_eq!(
        write(&two_apps, &shop_plan(), &django).unwrap_err().to_string(),
        "several Django apps have migrations (a/migrations, b/migrations); pass the directory of the one to write into"
    );
}

#[test]
fn the_same_input_gives_the_same_files() {
    let a = write(&repo(Format::Alembic), &shop_plan(), &options()).unwrap();
    let b = write(&repo(Format::Alembic), &shop_plan(), &options()).unwrap();
    assert_eq!(a, b);
}

/// A plan of one step whose SQL holds what each host language would read as something else.
fn hostile_plan() -> Plan {
    let sql = "COMMENT ON TABLE public.\"t\"\"`${x}`\" IS 'one\nSQL\nSQL1\n  \"\"\" \\ `${y}` %s :z #{w}';";
    serde_json::from_value(serde_json::json!({
        "version": 1, "server_version_num": 150000,
        "phases": [{ "name": "expand", "steps": [{
            "sql": sql, "transactional": true, "locks": [], "rewrites_table": false, "scans_table": false,
            "lock_timeout_ms": 2000, "statement_timeout_ms": 30000, "hazards": [],
            "rollback_sql": "COMMENT ON TABLE public.\"t\"\"`${x}`\" IS NULL", "estimate": null, "why": "Documentation only."
        }]}]
    }))
    .unwrap()
}

#[test]
fn rails_quotes_hostile_sql_in_a_heredoc_whose_terminator_it_does_not_contain() {
    let written = write(&repo(Format::Rails), &hostile_plan(), &options()).unwrap();
    insta::assert_snapshot!("rails_hostile", written.files[0].contents);
}

#[test]
fn python_and_javascript_strings_escape_quotes_backslashes_and_interpolation() {
    let django = write(&repo(Format::Django), &hostile_plan(), &options()).unwrap();
    assert!(
        django.files[0].contents.contains(
            r#""""COMMENT ON TABLE public.\"t\"\"`${x}`\" IS 'one
SQL
SQL1
  \"\"\" \\ `${y}` %s :z #{w}';""","#
        ),
        "{}",
        django.files[0].contents
    );
    let node = write(&repo(Format::NodePgMigrate), &hostile_plan(), &options()).unwrap();
    assert!(
        node.files[0].contents.contains(
            r#"pgm.sql(`COMMENT ON TABLE public."t""\`\${x}\`" IS 'one
SQL
SQL1
  """ \\ \`\${y}\` %s :z #{w}';`);"#
        ),
        "{}",
        node.files[0].contents
    );
}
