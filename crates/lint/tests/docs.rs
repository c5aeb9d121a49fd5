//! docs/rules/ is generated from the rules; this test fails when it is stale
//! (`UPDATE_DOCS=1 cargo test -p cutover-lint --test docs` rewrites it).

use std::path::PathBuf;

#[test]
fn rule_docs_are_current() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/rules");
    let mut expected = vec![("README.md".to_string(), cutover_lint::docs::index())];
    for info in cutover_lint::docs::rules() {
        for heading in ["## What it does", "## Why it is risky", "## Example", "## Use instead"] {
            assert!(cutover_lint::docs::page(info).contains(heading), "{} lacks {heading}", info.code);
        }
        expected.push((format!("{}.md", info.code), cutover_lint::docs::page(info)));
    }
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in &expected {
            std::fs::write(dir.join(name), text).unwrap();
        }
    }
    let mut stale = Vec::new();
    for (name, text) in &expected {
        if std::fs::read_to_string(dir.join(name)).ok().as_deref() != Some(text.as_str()) {
            stale.push(name.clone());
        }
    }
    let on_disk: Vec<String> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    for name in on_disk {
        if !expected.iter().any(|(n, _)| *n == name) {
            stale.push(format!("{name} (no such rule)"));
        }
    }
    assert!(
        stale.is_empty(),
        "docs/rules is stale: {stale:?}; run UPDATE_DOCS=1 cargo test -p cutover-lint --test docs"
    );
}

#[test]
fn rule_codes_are_unique_kebab_case() {
    let codes: Vec<&str> = cutover_lint::docs::rules().iter().map(|r| r.code).collect();
    let mut sorted = codes.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), codes.len(), "duplicate codes");
    for code in codes {
        assert!(code.chars().all(|c| c.is_ascii_lowercase() || c == '-'), "{code}");
    }
}
