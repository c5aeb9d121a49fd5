//! `cutover lint` as users run it: exit codes, the four formats, suppression, configuration,
//! and a live database deciding severity.

use cutover_test_support::TestDb;
use std::path::Path;
use std::process::Output;

fn cutover(args: &[&str], dir: &Path) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(args)
        .current_dir(dir)
        .env_remove("CUTOVER_DEV_URL")
        .output()
        .expect("run cutover")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const MIGRATION: &str = "SET lock_timeout = '2s';\nSET statement_timeout = '1min';\nCREATE INDEX users_email_idx ON users (email);\n-- cutover:ignore drop-column\nALTER TABLE users DROP COLUMN legacy;\n";

#[test]
fn findings_exit_1_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("migrations")).unwrap();
    std::fs::write(dir.path().join("migrations/0001.sql"), MIGRATION).unwrap();

    let human = cutover(&["lint", "migrations"], dir.path());
    assert_eq!(human.status.code(), Some(1), "{}", text(&human.stderr));
    assert_eq!(
        text(&human.stdout),
        "error[add-index-non-concurrently]: Building index users_email_idx on users without CONCURRENTLY blocks writes to users (SHARE lock) for the whole build.\n  --> migrations/0001.sql:3:1\n  |\n3 | CREATE INDEX users_email_idx ON users (email);\n  | ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n  = help: Use CREATE INDEX CONCURRENTLY in a migration that runs outside a transaction block.\n\n1 file checked: 1 error, 0 warnings\n"
    );

    let json: serde_json::Value =
        serde_json::from_slice(&cutover(&["lint", "migrations", "--format", "json"], dir.path()).stdout).unwrap();
    assert_eq!(json["summary"], serde_json::json!({ "files": 1, "errors": 1, "warnings": 0 }));
    let d = &json["diagnostics"][0];
    assert_eq!(
        (
            d["rule"].as_str(),
            d["severity"].as_str(),
            d["file"].as_str(),
            d["line"].as_u64(),
            d["column"].as_u64(),
            d["end_line"].as_u64(),
            d["end_column"].as_u64()
        ),
        (
            Some("add-index-non-concurrently"),
            Some("error"),
            Some("migrations/0001.sql"),
            Some(3),
            Some(1),
            Some(3),
            Some(46)
        )
    );

    let sarif: serde_json::Value =
        serde_json::from_slice(&cutover(&["lint", "migrations", "--format", "sarif"], dir.path()).stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "add-index-non-concurrently");
    assert_eq!(result["locations"][0]["physicalLocation"]["region"]["startLine"], 3);
    assert!(sarif["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap().len() > 40);

    let github = text(&cutover(&["lint", "migrations", "--format", "github"], dir.path()).stdout);
    assert!(
        github.starts_with(
            "::error file=migrations/0001.sql,line=3,col=1,endLine=3,endColumn=46,title=add-index-non-concurrently::"
        ),
        "{github}"
    );
}

#[test]
fn configuration_changes_rules_and_bad_configuration_is_one_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.sql"), MIGRATION).unwrap();
    std::fs::write(
        dir.path().join("cutover.toml"),
        "[lint.rules.add-index-non-concurrently]\nseverity = \"warning\"\n",
    )
    .unwrap();
    let out = cutover(&["lint", "m.sql"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).starts_with("warning[add-index-non-concurrently]"));
    std::fs::write(dir.path().join("cutover.toml"), "[lint]\ndisable = [\"add-index-concurrently\"]\n").unwrap();
    let out = cutover(&["lint", "m.sql"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "error: cutover.toml: lint.disable names an unknown rule \"add-index-concurrently\"; the rules are listed in docs/rules/README.md\n"
    );
    std::fs::remove_file(dir.path().join("cutover.toml")).unwrap();
    let out = cutover(&["lint", "missing.sql"], dir.path());
    assert_eq!(
        (out.status.code(), text(&out.stderr)),
        (Some(2), "error: missing.sql is neither a .sql file nor a directory\n".to_string())
    );
}

/// `cutover lint m.sql --format json --database URL` on a database set up by `schema`:
/// the exit code and the JSON report.
async fn lint_against(schema: &str, migration: &str) -> (Option<i32>, serde_json::Value) {
    let db = TestDb::new().await;
    db.connect().await.batch_execute(schema).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.sql"), migration).unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(["lint", "m.sql", "--format", "json", "--database", &db.url()])
        .current_dir(dir.path())
        .output()
        .await
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out.stderr)));
    (out.status.code(), json)
}

#[tokio::test]
async fn a_live_database_makes_a_lock_on_a_small_table_a_warning() {
    let (code, json) = lint_against(
        "CREATE TABLE users (id bigint PRIMARY KEY, email text); INSERT INTO users SELECT g, 'u' || g FROM generate_series(1, 200) g; ANALYZE users;",
        "SET lock_timeout = '2s';\nSET statement_timeout = '1min';\nCREATE INDEX users_email_idx ON users (email);\n",
    )
    .await;
    assert_eq!(code, Some(0));
    let d = &json["diagnostics"][0];
    assert_eq!(d["severity"], "warning");
    assert!(d["message"].as_str().unwrap().ends_with("(users has about 200 rows, so the lock is brief.)"), "{d}");
}

#[tokio::test]
async fn a_validated_not_null_check_in_the_database_makes_set_not_null_safe() {
    let (_, json) = lint_against(
        "CREATE TABLE users (id bigint PRIMARY KEY, email text, name text);
         ALTER TABLE users ADD CONSTRAINT users_email_nn CHECK (email IS NOT NULL);",
        "SET lock_timeout = '2s';\nSET statement_timeout = '1min';\nALTER TABLE users ALTER COLUMN email SET NOT NULL;\nALTER TABLE users ALTER COLUMN name SET NOT NULL;\n",
    )
    .await;
    let flagged: Vec<(String, u64)> = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["rule"].as_str().unwrap().to_string(), d["line"].as_u64().unwrap()))
        .collect();
    // email is proven by the validated check; name is not (and the table has no rows counted,
    // so its size is unknown: still an error).
    assert_eq!(flagged, [("set-not-null-on-populated-table".to_string(), 4)]);
}
