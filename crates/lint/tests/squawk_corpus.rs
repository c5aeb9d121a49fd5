//! The squawk corpus (tests/corpora/squawk): for every case, whether Cutover flags it with the
//! rules mapped to squawk's rule (tests/corpora/squawk/mapping.json). Every difference from
//! squawk's label must be explained there (`exceptions`), explained differences must still
//! differ, and the totals must meet the targets: ≥ 98% of flag cases caught, ≤ 2% of ok cases
//! flagged (explained differences count as differences).

use std::collections::BTreeMap;
use std::path::PathBuf;

use cutover_lint::{LintOptions, RuleSettings, SourceFile, lint};
use serde_json::Value;

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpora/squawk")
}

struct Case {
    id: String,
    squawk_rule: String,
    sql: String,
    should_flag: bool,
    pg_version: u32,
    assume_in_transaction: bool,
}

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(corpus()).unwrap().filter_map(|e| e.ok()).map(|e| e.path()).collect();
    dirs.sort();
    for dir in dirs.into_iter().filter(|d| d.is_dir()) {
        let rule = dir.file_name().unwrap().to_string_lossy().into_owned();
        let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().filter_map(|e| e.ok()).map(|e| e.path()).collect();
        files.sort();
        for sql_path in files.into_iter().filter(|p| p.extension().is_some_and(|e| e == "sql")) {
            let n = sql_path.file_stem().unwrap().to_string_lossy().into_owned();
            let expect: Value =
                serde_json::from_str(&std::fs::read_to_string(dir.join(format!("{n}.expect.json"))).unwrap()).unwrap();
            let settings = &expect["effective_settings"];
            let pg_version = settings["pg_version"]
                .as_str()
                .and_then(|v| v.split('.').next())
                .and_then(|v| v.parse::<u32>().ok())
                .unwrap_or(15);
            cases.push(Case {
                id: format!("{rule}/{n}"),
                squawk_rule: rule.clone(),
                sql: std::fs::read_to_string(&sql_path).unwrap(),
                should_flag: expect["should_flag"].as_bool().unwrap(),
                pg_version,
                assume_in_transaction: settings["assume_in_transaction"].as_bool().unwrap_or(false),
            });
        }
    }
    cases
}

#[test]
fn squawk_corpus_meets_the_targets_and_every_difference_is_explained() {
    let mapping: Value =
        serde_json::from_str(&std::fs::read_to_string(corpus().join("mapping.json")).unwrap()).unwrap();
    let known: Vec<&str> = cutover_lint::docs::rules().iter().map(|r| r.code).collect();
    let cases = cases();
    assert!(cases.len() > 300, "corpus not found: {} cases", cases.len());

    let (mut flag_cases, mut caught, mut ok_cases, mut false_flags) = (0, 0, 0, 0);
    let mut unexplained = Vec::new();
    let mut stale = Vec::new();
    let mut per_rule: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for case in &cases {
        let codes: Vec<String> = mapping["rules"][&case.squawk_rule]["cutover"]
            .as_array()
            .map(|a| a.iter().filter_map(|c| c.as_str().map(String::from)).collect())
            .unwrap_or_default();
        let implemented: Vec<&str> = codes.iter().map(String::as_str).filter(|c| known.contains(c)).collect();
        let options = LintOptions {
            pg_version: case.pg_version,
            assume_in_transaction: case.assume_in_transaction,
            database: None,
            rules: RuleSettings::only(&implemented),
        };
        let report = lint(&[SourceFile { path: case.id.clone(), text: case.sql.clone() }], &options);
        let flagged = report.diagnostics.iter().any(|d| implemented.contains(&d.rule.as_str()));
        if case.should_flag {
            flag_cases += 1;
            caught += usize::from(flagged);
        } else {
            ok_cases += 1;
            false_flags += usize::from(flagged);
        }
        let entry = per_rule.entry(case.squawk_rule.clone()).or_default();
        entry.0 += 1;
        entry.1 += usize::from(flagged == case.should_flag);
        let exception = &mapping["exceptions"][&case.id];
        if flagged != case.should_flag {
            if exception.is_null() {
                unexplained.push(format!("{} (squawk: {}, cutover: {})", case.id, case.should_flag, flagged));
            }
        } else if !exception.is_null() {
            stale.push(case.id.clone());
        }
    }
    let catch_rate = caught as f64 / flag_cases as f64;
    let false_rate = false_flags as f64 / ok_cases as f64;
    let summary: Vec<String> = per_rule
        .iter()
        .filter(|(_, (n, agree))| agree < n)
        .map(|(r, (n, agree))| format!("{r}: {agree}/{n}"))
        .collect();
    eprintln!(
        "squawk corpus: {caught}/{flag_cases} flag cases caught ({:.1}%), {false_flags}/{ok_cases} ok cases flagged ({:.1}%)",
        catch_rate * 100.0,
        false_rate * 100.0
    );
    assert!(
        unexplained.is_empty(),
        "{} unexplained differences:\n{}\nper rule: {summary:?}",
        unexplained.len(),
        unexplained.join("\n")
    );
    assert!(stale.is_empty(), "exceptions that no longer differ (remove them): {stale:?}");
    assert!(catch_rate >= 0.98, "only {:.1}% of flag cases caught", catch_rate * 100.0);
    assert!(false_rate <= 0.02, "{:.1}% of ok cases flagged", false_rate * 100.0);
}
