//! `cutover write` as users run it: files land in the repository (all or none, never over an
//! existing one), the format comes from the flag, cutover.toml or the repository's files, and
//! bad input is one sentence with exit code 2.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

const PLAN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../write/tests/data/shop.plan.json");

fn write(repo: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(["write", "--plan", PLAN, "--repo", repo.to_str().unwrap()])
        .args(extra)
        .output()
        .expect("run cutover write")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every file below `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            if e.file_type().unwrap().is_dir() {
                walk(root, &e.path(), out);
            } else {
                out.push(e.path().strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

#[test]
fn writes_the_detected_format_and_numbers_after_the_last_migration() {
    let repo = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(repo.path().join("db/migrations")).unwrap();
    std::fs::write(repo.path().join("db/migrations/000007_init.up.sql"), "CREATE TABLE t ();").unwrap();
    std::fs::write(repo.path().join("db/migrations/000007_init.down.sql"), "DROP TABLE t;").unwrap();
    let out = write(repo.path(), &["--issue", "ENG-42", "--name", "Refunds!"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("wrote db/migrations/000008_eng_42_refunds_expand_1.up.sql\n"), "{text}");
    assert!(text.contains("note: format golang-migrate: up/down migrations in db/migrations/\n"), "{text}");
    let written = files(repo.path());
    assert_eq!(written.len(), 2 + 2 * 9, "{written:#?}");
    assert!(written.contains(&"db/migrations/000016_eng_42_refunds_contract.down.sql".to_string()), "{written:#?}");
    let mode = std::fs::metadata(repo.path().join("db/migrations/000008_eng_42_refunds_expand_1.up.sql"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o644);
    // A second run adds the next migrations after these.
    let again = write(repo.path(), &["--issue", "ENG-42"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(stdout(&again).starts_with("wrote db/migrations/000017_eng_42_expand_1.up.sql\n"), "{}", stdout(&again));
}

#[test]
fn the_format_comes_from_the_flag_then_cutover_toml() {
    let repo = tempfile::tempdir().unwrap();
    std::fs::write(repo.path().join("cutover.toml"), "[write]\nformat = \"dbmate\"\ndirectory = \"sql/changes\"\n")
        .unwrap();
    let out = write(repo.path(), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("note: format dbmate as configured\n"), "{}", stdout(&out));
    assert!(files(repo.path()).iter().all(|f| f == "cutover.toml" || f.starts_with("sql/changes/")));
    let out = write(repo.path(), &["--format", "rails"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("wrote sql/changes/"), "the configured directory stays: {}", stdout(&out));
    assert!(stdout(&out).lines().next().unwrap().ends_with("_cutover_expand_1.rb"), "{}", stdout(&out));
}

#[test]
fn an_existing_file_is_never_overwritten_and_nothing_is_written() {
    let repo = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(repo.path().join("migrations")).unwrap();
    // A down file left without its up: the next number is 000001 again, and this name is taken.
    let taken = repo.path().join("migrations/000001_cutover_expand_1.down.sql");
    std::fs::write(&taken, "-- mine\n").unwrap();
    let out = write(repo.path(), &["--format", "golang-migrate"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        format!(
            "error: could not write migrations into {}: migrations/000001_cutover_expand_1.down.sql exists already; refusing to overwrite it\n",
            repo.path().display()
        )
    );
    assert_eq!(std::fs::read_to_string(&taken).unwrap(), "-- mine\n");
    assert_eq!(files(repo.path()), ["migrations/000001_cutover_expand_1.down.sql"]);
}

#[test]
fn bad_input_is_one_sentence_and_exit_2() {
    let repo = tempfile::tempdir().unwrap();
    let out = write(repo.path(), &["--format", "liquibase"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "error: --format `liquibase` is not a migration format; use one of sql, golang-migrate, dbmate, flyway, sqlx, refinery, alembic, django, rails, prisma, node-pg-migrate\n"
    );
    std::fs::write(repo.path().join("cutover.toml"), "[write]\nformat = \"liquibase\"\n").unwrap();
    let out = write(repo.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with("error: [write] format `liquibase` is not a migration format"),
        "{}",
        stderr(&out)
    );
    std::fs::write(repo.path().join("cutover.toml"), "[write]\nformt = \"sql\"\n").unwrap();
    let out = write(repo.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cutover.toml:2: unknown field `formt`"), "{}", stderr(&out));
    let out = write(&repo.path().join("missing"), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out), format!("error: --repo {}/missing is not a directory\n", repo.path().display()));
    let not_a_plan = repo.path().join("plan.json");
    std::fs::write(&not_a_plan, "{}").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(["write", "--plan", not_a_plan.to_str().unwrap(), "--repo", repo.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with(&format!(
            "error: {} is not a plan (the JSON that `cutover plan --format json` writes): missing field",
            not_a_plan.display()
        )),
        "{}",
        stderr(&out)
    );
}
