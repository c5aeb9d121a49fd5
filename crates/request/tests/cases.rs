//! Request cases (tests/cases/*.md): each file is an issue description as a person would
//! write it in Linear. What `parse` makes of it (the request or the problems, and the
//! rendering an agent reply would show: the summary or the elicitation) is snapshotted in
//! tests/snapshots/. Adding a case is adding a file; `INSTA_UPDATE=always` records new
//! snapshots, which are then read and checked by hand.

use cutover_request::{ChangeRequest, Downtime, Parsed, ProblemKind, ProposedChange, SqlBlock, ValidationItem};
use proptest::prelude::*;
use std::fmt::Write;
use std::path::{Path, PathBuf};

fn case_paths() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("case directory")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    paths.sort();
    paths
}

/// Lines of text, each behind a gutter, so that leading and trailing spaces show.
fn quoted(out: &mut String, indent: &str, text: &str) {
    for line in text.lines() {
        writeln!(out, "{indent}| {line}").unwrap();
    }
}

fn sql(out: &mut String, indent: &str, block: &SqlBlock) {
    let pieces: Vec<String> = block
        .pieces
        .iter()
        .map(|p| format!("sql {}.. = line {} ({} lines)", p.sql_line, p.description_line, p.lines))
        .collect();
    writeln!(out, "{indent}pieces: {}", pieces.join("; ")).unwrap();
    quoted(out, indent, &block.text);
}

fn request(out: &mut String, r: &ChangeRequest) {
    writeln!(out, "objective:").unwrap();
    quoted(out, "  ", &r.objective);
    writeln!(out, "affected services: {:?}", r.affected_services).unwrap();
    match &r.limitations {
        None => writeln!(out, "limitations: none").unwrap(),
        Some(text) => {
            writeln!(out, "limitations:").unwrap();
            quoted(out, "  ", text);
        }
    }
    match &r.proposed {
        ProposedChange::SchemaPath(path) => writeln!(out, "proposed: schema path {path:?}").unwrap(),
        ProposedChange::Sql(block) => {
            writeln!(out, "proposed: sql").unwrap();
            sql(out, "  ", block);
        }
    }
    let types: Vec<&str> = r.migration_types.iter().map(|t| t.as_str()).collect();
    writeln!(out, "migration types: {}", types.join(", ")).unwrap();
    match &r.downtime {
        Downtime::ZeroDowntime => writeln!(out, "downtime: zero-downtime").unwrap(),
        Downtime::Window { text, seconds } => writeln!(out, "downtime: window, seconds {seconds:?}, {text:?}").unwrap(),
    }
    writeln!(out, "validation:{}", if r.validation.is_empty() { " none" } else { "" }).unwrap();
    for item in &r.validation {
        match item {
            ValidationItem::Query(block) => {
                writeln!(out, "  - query").unwrap();
                sql(out, "    ", block);
            }
            ValidationItem::RowCount(text) => writeln!(out, "  - row count: {text}").unwrap(),
            ValidationItem::Latency { text, budget_ms } => {
                writeln!(out, "  - latency, budget_ms {budget_ms:?}: {text}").unwrap()
            }
            ValidationItem::Note(text) => writeln!(out, "  - note: {text}").unwrap(),
        }
    }
    for section in &r.other_sections {
        writeln!(out, "other section {:?} at line {}:", section.name, section.line).unwrap();
        quoted(out, "  ", &section.text);
    }
}

fn render(parsed: &Parsed) -> String {
    let mut out = String::new();
    match &parsed.request {
        Some(r) => {
            request(&mut out, r);
            writeln!(out, "\n--- summary\n{r}").unwrap();
        }
        None => {
            for problem in &parsed.problems {
                let (kind, text) = match &problem.kind {
                    ProblemKind::Missing => ("missing", ""),
                    ProblemKind::Contradictory(text) => ("contradictory", text.as_str()),
                    ProblemKind::Invalid(text) => ("invalid", text.as_str()),
                };
                writeln!(out, "problem: {:?} {kind} {text}", problem.field).unwrap();
            }
            write!(out, "\n--- elicitation\n{}", parsed.elicitation().unwrap_or_default()).unwrap();
        }
    }
    out
}

#[test]
fn every_case_matches_its_snapshot() {
    let paths = case_paths();
    assert!(paths.len() >= 25, "at least 25 cases, found {}", paths.len());
    let snapshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    for path in paths {
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&path).expect("case file");
        let parsed = parse_checked(&text);
        insta::with_settings!({
            snapshot_path => &snapshots,
            prepend_module_to_snapshot => false,
            omit_expression => true,
            input_file => &path,
        }, {
            insta::assert_snapshot!(name, render(&parsed));
        });
    }
}

/// `parse`, and the invariants every result keeps.
fn parse_checked(text: &str) -> Parsed {
    let parsed = cutover_request::parse(text);
    assert_eq!(parsed.request.is_some(), parsed.problems.is_empty(), "request xor problems");
    assert!(parsed.problems.is_sorted_by_key(|p| p.field), "problems in template order");
    if let Some(r) = &parsed.request {
        assert!(!r.migration_types.is_empty() && r.migration_types.is_sorted());
        let _ = r.to_string();
        let lines = text.split('\n').count();
        if let ProposedChange::Sql(block) = &r.proposed {
            for sql_line in 0..=block.text.lines().count() + 1 {
                assert!((1..=lines).contains(&block.description_line(sql_line)));
            }
        }
    }
    parsed
}

#[test]
fn the_real_example_is_the_linear_fixture_and_reads_fully() {
    let case =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/real-example.md")).unwrap();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/linear-examples");
    let issue: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(examples.join("issue.create.json")).unwrap()).unwrap();
    let session: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(examples.join("agent-session-event.created.json")).unwrap())
            .unwrap();
    assert_eq!(issue["data"]["description"].as_str(), Some(case.as_str()));
    assert_eq!(session["agentSession"]["issue"]["description"].as_str(), Some(case.as_str()));

    let request = cutover_request::parse(&case).request.expect("a complete request");
    let ProposedChange::Sql(block) = &request.proposed else { panic!("SQL expected") };
    // Line 3 of the SQL ("ALTER TABLE users ALTER COLUMN email_verified SET DEFAULT false;")
    // is line 11 of the description.
    assert_eq!(block.description_line(3), 11);
    assert_eq!(case.lines().nth(10), block.text.lines().nth(2));
}

#[test]
fn several_missing_fields_make_one_elicitation_that_names_them_all() {
    let parsed = cutover_request::parse("## Affected services\n- users\n");
    let message = parsed.elicitation().unwrap();
    for title in ["Objective", "Proposed schema changes", "Migration type", "Downtime tolerance"] {
        assert_eq!(message.matches(&format!("**{title}** is missing")).count(), 1, "{title}");
        assert_eq!(message.matches(&format!("## {title}\n")).count(), 1, "{title} snippet");
    }
    assert!(!message.contains("## Affected services"));
}

#[test]
fn a_huge_description_is_read_quickly() {
    let mut text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/garbage.md")).unwrap();
    let unit =
        "## Objective\n````\n``` x\n**Migration type:** additive, ~~x\n- [x] `a/b` [c](d) 5-10 min 02:00-03:00\n";
    text.push_str(&unit.repeat(20_000));
    text.push_str(&"```````````\n".repeat(2_000));
    let start = std::time::Instant::now();
    let parsed = cutover_request::parse(&text);
    let _ = parsed.elicitation();
    assert!(start.elapsed().as_secs() < 10, "took {:?}", start.elapsed());
}

proptest! {
    #[test]
    fn any_text_parses_without_panicking(text in any::<String>()) {
        let parsed = parse_checked(&text);
        let _ = parsed.elicitation();
    }

    #[test]
    fn any_template_soup_parses_without_panicking(
        parts in prop::collection::vec(
            prop_oneof![
                Just("## Objective\n"), Just("**Migration type:** "), Just("__Downtime__:"), Just("```sql\n"),
                Just("````\n"), Just("~~~\n"), Just("```\n"), Just("<!--"), Just("-->"), Just("- [x] "), Just("- [ ] "),
                Just("additive"), Just(" rollback,"), Just("zero-downtime "), Just("5-10 min "), Just("02:00-03:00 "),
                Just("`db/schema.sql` "), Just("[x](https://github.com/a/b/blob/m/s.sql)"), Just("SELECT 1;\n"),
                Just("\r\n"), Just("\n"), Just("  "), Just("#"), Just("*"), Just("`"), Just("("), Just(":"), Just("é"),
                Just("## Proposed schema changes\n"), Just("## Validation plan\n- p95 < 1s\n"), Just("===\n"),
            ],
            0..60,
        )
    ) {
        let text: String = parts.concat();
        let parsed = parse_checked(&text);
        let _ = parsed.elicitation();
    }
}
