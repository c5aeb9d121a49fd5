//! The strong_migrations corpus (tests/corpora/strong_migrations): every operation's
//! unsafe.sql gets at least one error-level finding; its safe.sql gets none, except where the
//! operation's meta.json notes a caveat (`safe_lint_note`), which is then printed. Warnings
//! are advice and do not count as flagging. As the corpus README says, a reminder to set
//! lock_timeout / statement_timeout on a safe.sql that does not set them is acknowledged, not
//! a false positive: the safe forms show the DDL, not the session settings.

use std::path::PathBuf;

use cutover_lint::{LintOptions, Severity, SourceFile, lint};
use serde_json::Value;

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpora/strong_migrations")
}

fn errors(path: &PathBuf, pg_version: u32) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let options = LintOptions { pg_version, ..LintOptions::default() };
    let report = lint(&[SourceFile { path: path.display().to_string(), text }], &options);
    report
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| format!("{}:{} {}", d.rule, d.line, d.message))
        .collect()
}

#[test]
fn unsafe_migrations_are_errors_and_safe_ones_are_clean() {
    let mut ops: Vec<PathBuf> =
        std::fs::read_dir(corpus()).unwrap().filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_dir()).collect();
    ops.sort();
    assert!(ops.len() >= 26, "corpus not found");
    let mut problems = Vec::new();
    for op in &ops {
        let name = op.file_name().unwrap().to_string_lossy().into_owned();
        let meta: Value = serde_json::from_str(&std::fs::read_to_string(op.join("meta.json")).unwrap()).unwrap();
        // The corpus was checked on PostgreSQL 15 unless a safe form needs a newer one.
        let pg_version = meta["min_pg_version_for_safe"].as_u64().map_or(15, |v| (v as u32).max(15)).min(18);
        if errors(&op.join("unsafe.sql"), pg_version).is_empty() {
            problems.push(format!("{name}: unsafe.sql has no error-level finding"));
        }
        let safe: Vec<String> = errors(&op.join("safe.sql"), pg_version)
            .into_iter()
            .filter(|e| !e.starts_with("missing-lock-timeout:") && !e.starts_with("missing-statement-timeout:"))
            .collect();
        if !safe.is_empty() {
            let note = meta["safe_lint_note"].as_str().unwrap_or("");
            if note.is_empty() {
                problems.push(format!("{name}: safe.sql flagged: {safe:?}"));
            } else {
                eprintln!("{name}: safe.sql flagged as its note allows ({note}): {safe:?}");
            }
        }
    }
    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n"));
}
