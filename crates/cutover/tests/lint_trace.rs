//! `cutover lint --trace` against the corpora: every statement that runs is traced on a
//! scratch database, and the strongest lock PostgreSQL took on its table must be the one
//! Cutover's lock knowledge (crates/plan/src/locks.rs) states. A disagreement is a bug in
//! that knowledge. strong_migrations operations run after their setup.sql; squawk cases run
//! on an empty database, so only the statements whose tables the case itself creates run.

use cutover_test_support::admin_url;
use std::path::{Path, PathBuf};
use std::process::Command;

fn corpora() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpora")
}

/// (compared, disagreements) for one history.
fn trace(path: &Path) -> (usize, Vec<String>) {
    let out = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(["lint", &path.to_string_lossy(), "--trace", "--format", "json", "--dev-url", admin_url()])
        .output()
        .expect("run cutover");
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let mut compared = 0;
    let mut differ = Vec::new();
    for row in json["traces"].as_array().expect("traces") {
        match row["agrees"].as_bool() {
            Some(true) => compared += 1,
            Some(false) => {
                compared += 1;
                differ.push(format!(
                    "{}:{} {} took {} expected {}",
                    path.display(),
                    row["line"],
                    row["statement"],
                    row["locks"],
                    row["expected"]
                ))
            }
            None => {}
        }
    }
    (compared, differ)
}

#[test]
fn traced_locks_agree_with_the_lock_knowledge_on_the_corpora() {
    let dir = tempfile::tempdir().unwrap();
    let mut histories = Vec::new();
    let sm = corpora().join("strong_migrations");
    let mut ops: Vec<_> =
        std::fs::read_dir(&sm).unwrap().filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_dir()).collect();
    ops.sort();
    for op in ops {
        let setup = std::fs::read_to_string(op.join("setup.sql")).unwrap_or_default();
        for part in ["unsafe.sql", "safe.sql"] {
            let body = std::fs::read_to_string(op.join(part)).unwrap();
            let path = dir.path().join(format!("{}-{part}", op.file_name().unwrap().to_string_lossy()));
            std::fs::write(&path, format!("{setup}\n{body}")).unwrap();
            histories.push(path);
        }
    }
    let squawk = corpora().join("squawk");
    let mut rules: Vec<_> =
        std::fs::read_dir(&squawk).unwrap().filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_dir()).collect();
    rules.sort();
    for rule in rules {
        let mut cases: Vec<_> = std::fs::read_dir(&rule)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "sql"))
            .collect();
        cases.sort();
        histories.extend(cases);
    }
    // Two at a time: each history gets its own scratch database.
    let chunks: Vec<Vec<PathBuf>> = histories.chunks(histories.len().div_ceil(3)).map(|c| c.to_vec()).collect();
    let handles: Vec<_> = chunks
        .into_iter()
        .map(|chunk| std::thread::spawn(move || chunk.iter().map(|p| trace(p)).collect::<Vec<_>>()))
        .collect();
    let (mut compared, mut differ) = (0, Vec::new());
    for h in handles {
        for (c, d) in h.join().unwrap() {
            compared += c;
            differ.extend(d);
        }
    }
    eprintln!("traced and compared {compared} statements");
    assert!(compared >= 60, "too few statements compared: {compared}");
    assert!(differ.is_empty(), "{} disagreement(s):\n{}", differ.len(), differ.join("\n"));
}
