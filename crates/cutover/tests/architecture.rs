//! ARCHITECTURE.md's invariants that a reading of the source can check: only the binary
//! reads the environment, and SQL text is built (`format!`) only in `cutover-sql`. The
//! source of every crate is read up to its first `#[cfg(test)]` (tests build what they
//! like); development crates (test support, fakes, benchmarks, the tool runner) are left out.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Crates that only tests and benchmarks use.
const DEV_CRATES: &[&str] = &["test-support", "bench", "write-tools", "github-fake", "linear-fake"];

/// `format!`s of SQL that remain outside `cutover-sql`, per file, with why. The list only
/// shrinks: a file with fewer than listed fails too, so a move is recorded here.
const SQL_ALLOWED: &[(&str, usize, &str)] = &[
    ("crates/db-postgres/src/scratch.rs", 3, "CREATE/DROP DATABASE of scratch databases, quoted names"),
    ("crates/jobs/src/postgres.rs", 9, "the job store's own queries with constant fragments"),
    ("crates/jobs/src/sqlite.rs", 8, "the job store's own queries with constant fragments"),
    ("crates/write/src/formats/refinery.rs", 2, "timeouts in a framework's migration file"),
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `.rs` file under each crate's `src/`, as (crate, path relative to the root, the
/// text before its first `#[cfg(test)]`).
fn sources() -> Vec<(String, String, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    for krate in std::fs::read_dir(root().join("crates")).unwrap().flatten() {
        let name = krate.file_name().to_string_lossy().into_owned();
        let mut files = Vec::new();
        walk(&krate.path().join("src"), &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            let text = text.split("#[cfg(test)]").next().unwrap_or_default().to_string();
            let relative = file.strip_prefix(root()).unwrap().to_string_lossy().into_owned();
            out.push((name.clone(), relative, text));
        }
    }
    out.sort();
    out
}

/// The string literals given first to `format!(` in `text`.
fn format_literals(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("format!(") {
        rest = &rest[at + "format!(".len()..];
        let body = rest.trim_start();
        let (hashes, body) = match body.strip_prefix('r') {
            Some(raw) => {
                let hashes = raw.len() - raw.trim_start_matches('#').len();
                (Some(hashes), &raw[hashes..])
            }
            None => (None, body),
        };
        let Some(body) = body.strip_prefix('"') else { continue };
        let mut literal = String::new();
        let mut chars = body.chars();
        while let Some(c) = chars.next() {
            match (c, hashes) {
                ('"', Some(h)) if chars.as_str().starts_with(&"#".repeat(h)) => break,
                ('"', None) => break,
                ('\\', None) => {
                    chars.next();
                    literal.push(' ');
                }
                (c, _) => literal.push(c),
            }
        }
        out.push(literal);
    }
    out
}

/// Whether a literal is SQL: it starts with a statement's keyword, or builds a clause.
fn is_sql(literal: &str) -> bool {
    const STATEMENTS: &[&str] = &[
        "SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "ALTER", "DROP", "SET", "RESET", "GRANT", "REVOKE",
        "COMMENT", "TRUNCATE", "WITH", "EXPLAIN", "SHOW", "CHECK", "LOCK", "VACUUM", "ANALYZE",
    ];
    const CLAUSES: &[&str] = &["} IS NOT NULL", "} IS NULL", "REFERENCES {", "ADD CONSTRAINT {", "(SELECT "];
    let text = literal.trim_start();
    let first = text.split(|c: char| c.is_whitespace()).next().unwrap_or_default();
    (STATEMENTS.contains(&first) && text.len() > first.len()) || CLAUSES.iter().any(|c| text.contains(c))
}

#[test]
fn format_literals_are_read_whole() {
    let text = "let a = format!(\n    \"SELECT {} \\\n     FROM t\", x); let b = format!(r#\"DROP \"x\" {}\"#, y); format!(\"{a} IS NOT NULL\")";
    let literals = format_literals(text);
    assert_eq!(literals.len(), 3, "{literals:?}");
    assert!(literals[0].starts_with("SELECT {}") && literals[0].ends_with("FROM t"), "{literals:?}");
    assert_eq!(literals[1..], ["DROP \"x\" {}", "{a} IS NOT NULL"]);
    assert_eq!(format_literals(text).iter().filter(|l| is_sql(l)).count(), 3);
    assert!(!is_sql("the application may still read {table}.{c}"));
    assert!(!is_sql("{table} is partitioned: CREATE INDEX CONCURRENTLY cannot build it"));
}

#[test]
fn sql_text_is_built_only_in_cutover_sql() {
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (krate, path, text) in sources() {
        // The linter's messages quote SQL to people; they are prose, not statements.
        if krate == "sql" || krate == "lint" || DEV_CRATES.contains(&krate.as_str()) {
            continue;
        }
        let sql: Vec<String> = format_literals(&text).into_iter().filter(|l| is_sql(l)).collect();
        if !sql.is_empty() {
            found.insert(path, sql);
        }
    }
    let mut problems = Vec::new();
    for (path, literals) in &found {
        match SQL_ALLOWED.iter().find(|(p, _, _)| p == path) {
            Some((_, allowed, _)) if literals.len() == *allowed => {}
            Some((_, allowed, _)) if literals.len() < *allowed => problems.push(format!(
                "{path}: {} SQL format!s left, {allowed} allowed: lower its entry in SQL_ALLOWED",
                literals.len()
            )),
            _ => problems.push(format!(
                "{path} builds SQL text outside cutover-sql (build it in crates/sql, typed where it can be):\n    {}",
                literals.join("\n    ")
            )),
        }
    }
    for (path, _, _) in SQL_ALLOWED {
        if !found.contains_key(*path) {
            problems.push(format!("{path} builds no SQL any more: remove it from SQL_ALLOWED"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn only_the_binary_reads_the_environment() {
    const READS: &[&str] = &["env::var", "env::home_dir", "env::temp_dir", "env::args", "env::current_dir"];
    let mut problems = Vec::new();
    for (krate, path, text) in sources() {
        if krate == "cutover" || DEV_CRATES.contains(&krate.as_str()) {
            continue;
        }
        for (number, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            if let Some(read) = READS.iter().find(|r| line.contains(*r)) {
                problems.push(format!(
                    "{path}:{}: {read}: only crates/cutover reads the environment; take it as configuration \
                     (see cutover_db_postgres::environment)",
                    number + 1
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
