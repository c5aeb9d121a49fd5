//! Each directory of tests/fixtures/impact/ (except plan/) is a small application; the plan
//! made from plan/before.sql and plan/after.sql (plan.json) is searched for in it. The
//! findings, the Markdown checklist and the edited model files (as diffs of the fixture)
//! are snapshots.

use cutover_impact::{Impact, Limits, SourceFile, analyze, render};
use cutover_plan::planner::Plan;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/impact")
}

fn plan() -> Plan {
    let text = std::fs::read_to_string(root().join("plan/plan.json")).expect("plan.json");
    serde_json::from_str(&text).expect("a plan")
}

fn read(dir: &Path, base: &Path, out: &mut Vec<SourceFile>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            read(&path, base, out);
        } else {
            let rel = path.strip_prefix(base).unwrap().to_string_lossy().replace('\\', "/");
            out.push(SourceFile { path: rel, text: std::fs::read_to_string(&path).unwrap() });
        }
    }
}

fn repository(name: &str) -> Vec<SourceFile> {
    let dir = root().join(name);
    let mut files = Vec::new();
    read(&dir, &dir, &mut files);
    files
}

/// The findings, then each edited file as a unified diff of the fixture.
fn report(impact: &Impact, files: &[SourceFile]) -> String {
    let mut s = render::human(impact);
    for edit in &impact.edits {
        let before = &files.iter().find(|f| f.path == edit.file).unwrap().text;
        let diff = similar::TextDiff::from_lines(before.as_str(), edit.text.as_str());
        s.push_str(&format!("\n{}", diff.unified_diff().context_radius(2).header(&edit.file, &edit.file)));
    }
    s
}

fn check(name: &str) {
    let files = repository(name);
    let impact = analyze(&plan(), &files, Limits::default());
    insta::assert_snapshot!(name, report(&impact, &files));
}

#[test]
fn django() {
    check("django");
}

#[test]
fn sqlalchemy() {
    check("sqlalchemy");
}

#[test]
fn prisma() {
    check("prisma");
}

#[test]
fn rails() {
    check("rails");
}

#[test]
fn typeorm() {
    check("typeorm");
}

#[test]
fn diesel() {
    check("diesel");
}

#[test]
fn go_and_sql_files() {
    check("go");
}

#[test]
fn the_checklist_in_markdown() {
    let files = repository("django");
    let impact = analyze(&plan(), &files, Limits::default());
    insta::assert_snapshot!("django_markdown", render::markdown(&impact));
}

#[test]
fn the_changes_come_from_the_plan_with_their_phases() {
    let changes = cutover_impact::affected(&plan());
    let lines: Vec<String> =
        changes.iter().map(|a| format!("{:?} before {} after {:?}", a.change, a.before, a.after)).collect();
    insta::assert_snapshot!("plan_changes", lines.join("\n"));
}

#[test]
fn limits_skip_large_files_and_files_past_the_count() {
    let mut files = repository("go");
    files.push(SourceFile { path: "zz/huge.sql".into(), text: "SELECT notes FROM orders;\n".repeat(100) });
    let impact = analyze(&plan(), &files, Limits { max_files: 1, max_file_bytes: 1000 });
    let skipped: Vec<(&str, &str)> = impact.skipped.iter().map(|s| (s.file.as_str(), s.reason.as_str())).collect();
    assert_eq!(skipped, vec![("store/orders.go", "past the first 1 files"), ("zz/huge.sql", "larger than 1000 bytes")]);
    assert!(impact.findings.iter().all(|f| f.file == "queries/orders.sql"));
}

#[test]
fn each_checklist_item_sits_between_its_phases_in_the_plan() {
    let plan = plan();
    let impact = analyze(&plan, &repository("django"), Limits::default());
    let names: Vec<_> = plan.phases.iter().map(|p| p.name).collect();
    let phases: Vec<String> = (0..plan.phases.len())
        .map(|i| cutover_plan::planner::render_phase_markdown(&plan, i, cutover_plan::planner::Flavor::GitHub))
        .collect();
    let md = render::interleave(&impact, &names, &phases);
    let at = |s: &str| md.find(s).unwrap_or_else(|| panic!("{s} in {md}"));
    let item = |when: &str| at(&format!("- [ ] **Update application queries and ORM models** ({when})"));
    assert!(item("before the expand phase") < at("### Phase 1 of 4: `expand`"));
    assert!(at("### Phase 2 of 4: `backfill`") < item("after the backfill phase, before the switch phase"));
    assert!(item("after the backfill phase, before the switch phase") < at("### Phase 3 of 4: `switch`"));
    assert!(at("### Phase 3 of 4: `switch`") < item("after the switch phase, before the contract phase"));
    assert!(item("after the switch phase, before the contract phase") < at("### Phase 4 of 4: `contract`"));
    assert_eq!(md.matches("**Update application queries and ORM models**").count(), 3);
}
