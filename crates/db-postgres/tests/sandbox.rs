//! SQL written by someone else runs in a sandbox: as a role that can reach nothing outside
//! its scratch database, within time limits, leaving nothing behind.

use cutover_db_postgres::Error;
use cutover_db_postgres::introspect::{IntrospectOptions, introspect};
use cutover_db_postgres::sandbox::{self, SandboxPolicy, SqlText};
use cutover_db_postgres::scratch::DevServer;
use cutover_plan::DiffOptions;
use cutover_schema::Catalog;
use cutover_test_support::{TestDb, dev_server};
use std::time::Duration;
use tokio::time::Instant;

/// A live database holding `schema`, read as the agent reads one.
async fn live(schema: &str) -> (TestDb, Catalog) {
    let db = TestDb::new().await;
    let client = db.connect().await;
    client.batch_execute(schema).await.expect("the live schema");
    let catalog = introspect(&client, &IntrospectOptions::default()).await.expect("introspect");
    (db, catalog)
}

fn policy(statement_timeout_ms: u64) -> SandboxPolicy {
    SandboxPolicy { statement_timeout: Duration::from_millis(statement_timeout_ms), ..SandboxPolicy::default() }
}

async fn run(
    dev: &DevServer,
    current: &Catalog,
    sql: &str,
    policy: &SandboxPolicy,
    budget: Duration,
) -> Result<Catalog, Error> {
    let text = SqlText { label: "ENG-1".into(), text: sql.to_string() };
    sandbox::apply(dev, Some(current), &[text], policy, &DiffOptions::default(), Instant::now() + budget).await
}

const LIVE: &str = "CREATE EXTENSION citext;
CREATE TABLE users (id bigint PRIMARY KEY, email citext NOT NULL);
CREATE SEQUENCE counter;
CREATE TYPE mood AS ENUM ('ok', 'sad');
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch();
CREATE VIEW user_emails AS SELECT email FROM users;";

#[tokio::test]
async fn the_request_owns_and_changes_the_recreated_schema() {
    let (_db, current) = live(LIVE).await;
    let desired = run(
        &dev_server(),
        &current,
        "ALTER TABLE users ADD COLUMN mood mood;
         DROP VIEW user_emails;
         ALTER SEQUENCE counter RENAME TO counter2;
         CREATE OR REPLACE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.id := NEW.id; RETURN NEW; END $$;
         DROP EXTENSION citext CASCADE;",
        &policy(5_000),
        Duration::from_secs(60),
    )
    .await
    .expect("the request applies as the sandbox role");
    let users = desired.tables.values().find(|t| t.columns.iter().any(|c| c.name == "mood")).expect("users");
    assert!(users.columns.iter().all(|c| c.name != "email"), "the citext column went with the extension");
    assert!(desired.views.is_empty());
    assert!(desired.extensions.keys().all(|e| e != "citext"));
}

/// Each statement below must fail with the given words in PostgreSQL's message.
const REFUSED: &[(&str, &str)] = &[
    ("CREATE TABLE t (x text); COPY t FROM PROGRAM 'env'", "pg_execute_server_program role"),
    ("COPY (SELECT 1) TO PROGRAM 'touch /tmp/cutover-sandbox-pwned'", "pg_execute_server_program role"),
    ("COPY (SELECT 1) TO '/tmp/cutover-sandbox-pwned'", "pg_write_server_files role"),
    ("SELECT pg_read_file('/etc/passwd')", "permission denied"),
    ("SELECT pg_ls_dir('.')", "permission denied"),
    ("SELECT lo_import('/etc/passwd')", "permission denied"),
    ("CREATE EXTENSION dblink", "dblink"),
    ("CREATE EXTENSION postgres_fdw", "postgres_fdw"),
    ("CREATE EXTENSION file_fdw", "file_fdw"),
    ("CREATE EXTENSION adminpack", "adminpack"),
    ("DO $$ BEGIN EXECUTE 'CREATE EXTENSION dblink'; END $$", "permission denied to create extension"),
    ("CREATE FUNCTION f() RETURNS int LANGUAGE plpython3u AS 'return 1'", "plpython3u"),
    ("CREATE FUNCTION f() RETURNS int LANGUAGE c AS 'libc', 'system'", "permission denied for language c"),
    ("ALTER SYSTEM SET work_mem = '1TB'", "permission denied"),
    ("CREATE ROLE evil SUPERUSER", "must be superuser"),
    ("ALTER ROLE CURRENT_USER SUPERUSER", "must be superuser"),
    ("SET ROLE postgres", "permission denied"),
    ("SET SESSION AUTHORIZATION postgres", "permission denied"),
    ("CREATE DATABASE other", "permission denied"),
    ("ALTER DATABASE template1 SET search_path = evil", "must be owner"),
    ("CREATE EVENT TRIGGER e ON ddl_command_start EXECUTE FUNCTION touch()", "permission denied"),
    ("DROP EVENT TRIGGER cutover_extension_guard", "must be owner"),
    ("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'postgres'", "must be a superuser"),
    ("SET temp_file_limit = -1", "permission denied"),
    ("CREATE TABLESPACE t LOCATION '/tmp'", "permission denied"),
    ("GRANT pg_execute_server_program TO CURRENT_USER", "must have admin option"),
];

#[tokio::test]
async fn what_reaches_outside_the_database_is_refused() {
    let (_db, current) = live(LIVE).await;
    let dev = dev_server();
    let policy = policy(5_000);
    let outcomes = futures_util::future::join_all(
        REFUSED.iter().map(|(sql, _)| run(&dev, &current, sql, &policy, Duration::from_secs(60))),
    )
    .await;
    let mut failures = Vec::new();
    for ((sql, expected), outcome) in REFUSED.iter().zip(outcomes) {
        match outcome {
            Err(Error::SourceSql { message, .. }) if message.contains(expected) => {}
            other => failures.push(format!("{sql}\n  expected an error containing {expected:?}, got {other:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(!std::path::Path::new("/tmp/cutover-sandbox-pwned").exists());
}

#[tokio::test]
async fn an_allowed_extension_is_created_and_others_are_refused_with_the_list() {
    let (_db, current) = live("CREATE TABLE t (id int)").await;
    let dev = dev_server();
    let desired = run(&dev, &current, "CREATE EXTENSION pg_trgm", &policy(5_000), Duration::from_secs(60))
        .await
        .expect("pg_trgm is trusted and allowed");
    assert!(desired.extensions.contains_key("pg_trgm"));

    let narrow = SandboxPolicy { extensions: vec!["citext".into()], ..policy(5_000) };
    let err = run(&dev, &current, "CREATE EXTENSION pg_trgm", &narrow, Duration::from_secs(60)).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "ENG-1:1:1: ERROR: extension \"pg_trgm\" is not allowed on the scratch server (hint: Allowed extensions: citext.)"
    );
    // However the statement is reached.
    let hidden = "CREATE TABLE u (id int);\nDO $$ BEGIN EXECUTE 'CREATE EXTENSION ' || 'pg_trgm'; END $$;";
    let err = run(&dev, &current, hidden, &narrow, Duration::from_secs(60)).await.unwrap_err();
    assert!(
        err.to_string().starts_with("ENG-1:2:1: ERROR: extension \"pg_trgm\" is not allowed on the scratch server"),
        "{err}"
    );
}

#[tokio::test]
async fn a_live_dblink_cannot_be_used_by_the_request() {
    let (_db, current) = live("CREATE EXTENSION dblink").await;
    let err = run(
        &dev_server(),
        &current,
        "SELECT dblink_connect('host=127.0.0.1 dbname=postgres user=postgres password=x')",
        &policy(5_000),
        Duration::from_secs(60),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("permission denied for function dblink_connect"), "{err}");
}

#[tokio::test]
async fn a_statement_runs_no_longer_than_its_limit() {
    let (_db, current) = live("CREATE TABLE t (id int)").await;
    let err = run(
        &dev_server(),
        &current,
        "CREATE TABLE u (id int);\nSELECT pg_sleep(3600);",
        &policy(500),
        Duration::from_secs(60),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "ENG-1:2:1: the statement ran longer than 0.5 s, the limit for one statement on the scratch server"
    );
}

#[tokio::test]
async fn a_statement_that_swallows_its_cancellation_is_ended_with_its_session() {
    let (_db, current) = live("CREATE TABLE t (id int)").await;
    let sql = "SET statement_timeout = 0;
DO $$ BEGIN LOOP BEGIN PERFORM pg_sleep(0.1); EXCEPTION WHEN query_canceled THEN NULL; END; END LOOP; END $$;";
    let err = run(&dev_server(), &current, sql, &policy(500), Duration::from_secs(60)).await.unwrap_err();
    assert!(matches!(err, Error::StatementTimeout { line: 2, .. }), "{err:?}");
}

#[tokio::test]
async fn the_whole_job_ends_at_its_deadline() {
    let (_db, current) = live("CREATE TABLE t (id int)").await;
    // Every statement is short; together they outlast the budget.
    let sql = "SELECT pg_sleep(0.4);\n".repeat(20);
    let err = run(&dev_server(), &current, &sql, &policy(5_000), Duration::from_secs(2)).await.unwrap_err();
    assert!(matches!(err, Error::OutOfTime), "{err:?}");
}

#[tokio::test]
async fn materialized_views_are_recreated_without_running_their_queries() {
    // The view's query would now sleep for a minute (its function changed after it was
    // filled); recreating it with data would run into the deadline.
    let (_db, current) = live(
        "CREATE FUNCTION slow() RETURNS int LANGUAGE sql AS 'SELECT 1';
         CREATE MATERIALIZED VIEW mv AS SELECT slow() AS x;
         CREATE OR REPLACE FUNCTION slow() RETURNS int LANGUAGE sql AS 'SELECT 1 FROM pg_sleep(60)';",
    )
    .await;
    let desired = run(&dev_server(), &current, "CREATE TABLE t (id int)", &policy(5_000), Duration::from_secs(20))
        .await
        .expect("no query of the view ran");
    let mv = desired.views.values().find(|v| v.materialized).expect("mv");
    assert!(mv.populated, "the live database's state is kept");
    assert_eq!(cutover_plan::diff(&current, &desired, &DiffOptions::default()).changes.len(), 1, "only the new table");
}

#[tokio::test]
async fn nothing_is_left_behind_on_a_private_scratch_server() {
    // A server of its own, so that no other test's sandbox is counted.
    let dev = DevServer::new(None);
    let (_db, current) = live(LIVE).await;
    let _ = run(&dev, &current, "CREATE TABLE x (id int)", &policy(5_000), Duration::from_secs(60)).await.unwrap();
    let _ = run(&dev, &current, "SELECT pg_sleep(10)", &policy(200), Duration::from_secs(60)).await.unwrap_err();
    let _ = run(&dev, &current, "CREATE TABLE", &policy(5_000), Duration::from_secs(60)).await.unwrap_err();
    let admin = dev.target().await.unwrap().connect().await.unwrap();
    let roles: i64 = admin
        .query_one("SELECT count(*) FROM pg_roles WHERE rolname LIKE 'cutover\\_sandbox\\_%'", &[])
        .await
        .unwrap()
        .get(0);
    let databases: i64 = admin
        .query_one("SELECT count(*) FROM pg_database WHERE datname LIKE 'cutover\\_scratch\\_%'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!((roles, databases), (0, 0));
}

#[tokio::test]
async fn leftovers_of_a_killed_process_are_removed_by_the_next_sandbox() {
    // A sandbox role made two days ago, with its scratch database, as a process killed
    // mid-request leaves them; and one made just now, which belongs to a request running.
    let admin = cutover_db_postgres::connect::connect(cutover_test_support::admin_url()).await.unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let old = format!("cutover_sandbox_{}_1_0_deadbeef", now - 2 * 24 * 3600);
    let young = format!("cutover_sandbox_{now}_1_0_deadbeef");
    let database = format!("cutover_scratch_left_{}", std::process::id());
    for role in [&old, &young] {
        admin.batch_execute(&format!("CREATE ROLE \"{role}\" LOGIN")).await.unwrap();
    }
    admin.batch_execute(&format!("CREATE DATABASE \"{database}\" OWNER \"{old}\"")).await.unwrap();

    let (_db, current) = live("CREATE TABLE t (id int)").await;
    run(&dev_server(), &current, "CREATE TABLE u (id int)", &policy(5_000), Duration::from_secs(60)).await.unwrap();

    let exists = |sql: &'static str, name: String| {
        let admin = &admin;
        async move { admin.query_one(sql, &[&name]).await.unwrap().get::<_, bool>(0) }
    };
    let role = "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)";
    assert!(!exists(role, old.clone()).await, "the old role is gone");
    assert!(!exists("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", database).await);
    assert!(exists(role, young.clone()).await, "a young role is left alone");
    admin.batch_execute(&format!("DROP ROLE \"{young}\"")).await.unwrap();
}
