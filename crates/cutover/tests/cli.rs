//! The `cutover` binary as users run it: exit codes, exact output and exact errors.

mod common;

use common::*;

use cutover_test_support::admin_url;
use std::path::Path;
use std::process::{Command, Output};

fn cutover(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(args)
        .env_remove("CUTOVER_DEV_URL")
        .env("NO_COLOR", "1")
        .output()
        .expect("run cutover")
}

fn write(dir: &Path, name: &str, sql: &str) -> String {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, sql).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn diff_of_two_files_prints_sql_and_warns_about_data_loss() {
    let dir = tempfile::tempdir().unwrap();
    let from = write(dir.path(), "from.sql", "CREATE TABLE users (id int PRIMARY KEY, nickname text);\n");
    let to = write(dir.path(), "to.sql", "CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL DEFAULT '');\n");
    let out = cutover(&["diff", "--from", &from, "--to", &to, "--dev-url", admin_url()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "ALTER TABLE public.users ADD COLUMN email text DEFAULT ''::text NOT NULL;\n\n\
         ALTER TABLE public.users DROP COLUMN nickname;\n\n"
    );
    assert_eq!(
        stderr(&out),
        "warning: 1 of 2 statements destroy data:\n  - drops column public.users.nickname and its data\n"
    );
}

#[test]
fn exit_code_flag_reports_differences_with_1_and_none_with_0() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.sql", "CREATE TABLE t (id int);");
    let b = write(dir.path(), "b.sql", "CREATE TABLE t (id bigint);");
    let differs = cutover(&["diff", "--from", &a, "--to", &b, "--dev-url", admin_url(), "--exit-code"]);
    assert_eq!(differs.status.code(), Some(1), "{}", stderr(&differs));
    let same = cutover(&["diff", "--from", &a, "--to", &a, "--dev-url", admin_url(), "--exit-code"]);
    assert_eq!(same.status.code(), Some(0), "{}", stderr(&same));
    assert_eq!(stdout(&same), "");
    assert_eq!(stderr(&same), "");
}

#[test]
fn json_output_carries_statements_hazards_and_summary() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.sql", "CREATE TABLE t (id int, old text);");
    let b = write(dir.path(), "b.sql", "CREATE TABLE t (id int);\nCREATE INDEX t_id ON t (id);");
    let out = cutover(&["diff", "--from", &a, "--to", &b, "--dev-url", admin_url(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("valid JSON");
    assert_eq!(
        json,
        serde_json::json!({
            "version": 1,
            "statements": [
                { "sql": "ALTER TABLE public.t DROP COLUMN old",
                  "hazards": [ { "code": "data_loss", "message": "drops column public.t.old and its data" } ] },
                { "sql": "CREATE INDEX t_id ON public.t USING btree (id)", "hazards": [] }
            ],
            "summary": { "statements": 2, "destructive": 1 }
        })
    );
    assert_eq!(stderr(&out), "", "JSON output puts nothing on stderr");
}

#[test]
fn sql_errors_name_the_file_line_and_column_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.sql", "CREATE TABLE t (id int);");
    let b = write(dir.path(), "b.sql", "CREATE TABLE t (\n  id int,\n  name intt\n);");
    let out = cutover(&["diff", "--from", &a, "--to", &b, "--dev-url", admin_url()]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stdout(&out), "");
    assert_eq!(
        stderr(&out),
        format!("error: could not read the --to schema: {b}:3:8: ERROR: type \"intt\" does not exist\n")
    );
}

#[test]
fn syntax_errors_point_at_the_offending_token() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.sql", "CREATE TABLE ok (id int);\n\nCREATE TABLE t (id int,, x int);\n");
    let b = write(dir.path(), "b.sql", "CREATE TABLE ok (id int);\n");
    let out = cutover(&["diff", "--from", &a, "--to", &b, "--dev-url", admin_url()]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        format!("error: could not read the --from schema: {a}:3:24: ERROR: syntax error at or near \",\"\n")
    );
}

#[test]
fn a_missing_source_is_a_usage_error() {
    let out = cutover(&["diff", "--from", "no/such/file.sql", "--to", "no/such/dir", "--dev-url", admin_url()]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "error: invalid --from: no/such/file.sql is neither a postgres:// URL nor an existing .sql file or directory\n"
    );
    // A key=value connection string is a database source; a bad one is reported without
    // its password.
    let out = cutover(&["diff", "--from", "host=/nowhere password=s3cret dbname=x", "--to", "no/such/dir"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!stderr(&out).contains("s3cret"), "{}", stderr(&out));
}

#[test]
fn missing_arguments_are_usage_errors() {
    let out = cutover(&["diff", "--from", "a.sql"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with("error: the following required arguments were not provided:\n  --to <SRC>"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn connection_failures_exit_2_without_showing_the_password() {
    let out = cutover(&[
        "diff",
        "--from",
        "postgres://app:s3cret@127.0.0.1:1/prod?connect_timeout=2",
        "--to",
        "postgres://app:s3cret@127.0.0.1:1/prod?connect_timeout=2",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert_eq!(
        err,
        "error: could not read the --from schema: could not connect to postgres://app:***@127.0.0.1:1/prod?connect_timeout=2: Connection refused (os error 111)\n"
    );
    assert!(!err.contains("s3cret"), "{err}");
}

#[test]
fn a_directory_source_applies_its_files_in_lexical_order() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "schema/001_tables.sql", "CREATE TABLE a (id int PRIMARY KEY);");
    write(dir.path(), "schema/002_more/010_b.sql", "CREATE TABLE b (a_id int REFERENCES a);");
    write(dir.path(), "schema/002_more/README.md", "not SQL, ignored");
    let empty = write(dir.path(), "empty.sql", "");
    let schema = dir.path().join("schema").to_string_lossy().into_owned();
    let out = cutover(&["diff", "--from", &empty, "--to", &schema, "--dev-url", admin_url()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "CREATE TABLE public.a (\n    id integer NOT NULL,\n    CONSTRAINT a_pkey PRIMARY KEY (id)\n);\n\n\
         CREATE TABLE public.b (\n    a_id integer\n);\n\n\
         ALTER TABLE public.b ADD CONSTRAINT b_a_id_fkey FOREIGN KEY (a_id) REFERENCES public.a(id);\n\n"
    );
}

#[tokio::test]
async fn a_live_database_is_only_read() {
    let db = common::db_with("CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2);", "setup").await.unwrap();
    let before = common::read(&db).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let to = write(dir.path(), "to.sql", "CREATE TABLE t (id bigint, name text);");
    let url = db.url();
    let out =
        tokio::task::spawn_blocking(move || cutover(&["diff", "--from", &url, "--to", &to, "--dev-url", admin_url()]))
            .await
            .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "ALTER TABLE public.t ALTER COLUMN id TYPE bigint USING id::bigint;\n\nALTER TABLE public.t ADD COLUMN name text;\n\n"
    );
    let after = common::read(&db).await.unwrap();
    assert_eq!(before.canonical(), after.canonical(), "the --from database was changed");
    let client = db.connect().await;
    let rows: i64 = client.query_one("SELECT count(*) FROM t", &[]).await.unwrap().get(0);
    assert_eq!(rows, 2);
}

#[test]
fn without_a_dev_url_sql_sources_use_a_throwaway_server() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.sql", "CREATE TABLE t (id int);");
    let b = write(dir.path(), "b.sql", "CREATE TABLE t (id int, at timestamptz);");
    // Its own temporary directory (short, for the socket path), so that the clusters of
    // other processes on the machine are not counted.
    let tmp = tempfile::Builder::new().prefix("cot").tempdir_in("/tmp").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(["diff", "--from", &a, "--to", &b])
        .env_remove("CUTOVER_DEV_URL")
        .env("TMPDIR", tmp.path())
        .output()
        .expect("run cutover");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "ALTER TABLE public.t ADD COLUMN at timestamp with time zone;\n\n");
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(leftovers.is_empty(), "the throwaway server was not removed: {leftovers:?}");
}

#[test]
fn plan_json_has_the_contract_shape() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.sql", "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint);");
    let b = write(
        dir.path(),
        "b.sql",
        "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint);\nCREATE INDEX orders_customer_idx ON orders (customer_id);",
    );
    let out = cutover(&["plan", "--from", &a, "--to", &b, "--dev-url", admin_url(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("valid JSON");
    assert_eq!(json["version"], 1);
    assert!(json["server_version_num"].as_u64().unwrap() >= 120000);
    let step = &json["phases"][0]["steps"][0];
    assert_eq!(json["phases"][0]["name"], "expand");
    assert_eq!(step["sql"], "CREATE INDEX CONCURRENTLY orders_customer_idx ON public.orders USING btree (customer_id)");
    assert_eq!(step["transactional"], false);
    assert_eq!(step["locks"], serde_json::json!([{ "mode": "SHARE UPDATE EXCLUSIVE", "relation": "public.orders" }]));
    assert_eq!(step["rewrites_table"], false);
    assert_eq!(step["scans_table"], true);
    assert_eq!(step["lock_timeout_ms"], 2000);
    assert_eq!(step["statement_timeout_ms"], 21_600_000, "unknown table size: the long default");
    assert_eq!(step["rollback_sql"], "DROP INDEX CONCURRENTLY IF EXISTS public.orders_customer_idx");
    assert_eq!(step["estimate"], serde_json::Value::Null, "no row count from a SQL file");
    let codes: Vec<&str> = step["hazards"].as_array().unwrap().iter().map(|h| h["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["non_transactional", "index_build"]);
    assert!(json.get("blockers").is_none(), "no blockers key when there are none");
}

#[test]
fn plan_markdown_is_the_comment_rendering() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.sql", "CREATE TABLE t (id bigint PRIMARY KEY, legacy text);");
    let b = write(dir.path(), "b.sql", "CREATE TABLE t (id bigint PRIMARY KEY);");
    let out = cutover(&["plan", "--from", &a, "--to", &b, "--dev-url", admin_url(), "--format", "markdown"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out).replace(&format!("PostgreSQL {}", server_major()), "PostgreSQL N");
    insta::assert_snapshot!("plan_markdown_drop_column", text);
}

fn server_major() -> u32 {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = cutover_db_postgres::connect::connect(admin_url()).await.unwrap();
        let v: i32 = client.query_one("SELECT current_setting('server_version_num')::int", &[]).await.unwrap().get(0);
        v as u32 / 10000
    })
}

#[test]
fn plan_with_blockers_exits_1_and_explains() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.sql", "CREATE TABLE users (id bigint PRIMARY KEY);");
    let b = write(dir.path(), "b.sql", "CREATE TABLE users (id bigint PRIMARY KEY, tenant_id bigint NOT NULL);");
    let out = cutover(&["plan", "--from", &a, "--to", &b, "--dev-url", admin_url()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("BLOCKED: 1 change(s) cannot be made safely"), "{text}");
    assert!(text.contains("[not_null_without_default] public.users.tenant_id is NOT NULL without a default"), "{text}");
}

#[test]
fn plan_validate_applies_the_plan_to_a_scratch_copy() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.sql", "CREATE TABLE users (id bigint PRIMARY KEY, email text, name text);");
    let b = write(
        dir.path(),
        "b.sql",
        "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL UNIQUE, full_name text);\nCREATE INDEX users_lower_email ON users (lower(email));",
    );
    let out = cutover(&[
        "plan",
        "--from",
        &a,
        "--to",
        &b,
        "--dev-url",
        admin_url(),
        "--validate",
        "--rename-column",
        "users.name=full_name",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}\n{}", stdout(&out), stderr(&out));
    assert_eq!(
        stderr(&out),
        "validated: the plan, applied phase by phase to a copy of the --from schema, converges with --to\n"
    );
}

#[tokio::test]
async fn plan_validate_works_from_a_live_database() {
    let db = common::db_with("CREATE TABLE t (id bigint PRIMARY KEY, a int); INSERT INTO t VALUES (1, 1);", "setup")
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let b = write(dir.path(), "b.sql", "CREATE TABLE t (id bigint PRIMARY KEY, a int NOT NULL CHECK (a > 0));");
    let url = db.url();
    let out = tokio::task::spawn_blocking(move || {
        cutover(&["plan", "--from", &url, "--to", &b, "--dev-url", admin_url(), "--validate"])
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}\n{}", stdout(&out), stderr(&out));
    assert_eq!(
        stderr(&out),
        "validated: the plan, applied phase by phase to a copy of the --from schema, converges with --to\n"
    );
    let client = db.connect().await;
    let nullable: bool = client
        .query_one("SELECT NOT attnotnull FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'a'", &[])
        .await
        .unwrap()
        .get(0);
    assert!(nullable, "the live --from database was changed");
}

#[test]
fn plan_rejects_unsupported_versions_and_bad_renames() {
    let out = cutover(&["plan", "--from", "a.sql", "--to", "b.sql", "--pg-version", "11"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("invalid value '11' for '--pg-version <N>': 11 is not in 12..=18"),
        "{}",
        stderr(&out)
    );
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.sql", "");
    let out = cutover(&["plan", "--from", &a, "--to", &a, "--rename-column", "users=x"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out), "error: invalid --rename-column users=x: expected [schema.]table.column=new_name\n");
}
