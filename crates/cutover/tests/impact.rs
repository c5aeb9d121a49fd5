//! `cutover impact` as users run it: the fixture plan (made by `cutover plan` from
//! tests/fixtures/impact/plan, checked here against the planner) over a copy of a fixture
//! repository, in the three formats, `--fix` writing exactly the edited model files, a
//! symlink out of the repository not followed, and the usage errors.

use cutover_impact::render;
use cutover_plan::planner::Plan;
use cutover_test_support::admin_url;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn cutover(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cutover")).args(args).env_remove("CUTOVER_DEV_URL").output().expect("run cutover")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/impact")
}

fn plan_path() -> String {
    fixtures().join("plan/plan.json").to_string_lossy().into_owned()
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn the_fixture_plan_is_what_the_planner_makes() {
    let dir = fixtures().join("plan");
    let (before, after) = (dir.join("before.sql"), dir.join("after.sql"));
    let out = cutover(&[
        "plan",
        "--from",
        before.to_str().unwrap(),
        "--to",
        after.to_str().unwrap(),
        "--dev-url",
        admin_url(),
        "--rename-column",
        "customers.fullname=full_name",
        "--rename-table",
        "invoices=bills",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let made: Plan = serde_json::from_slice(&out.stdout).unwrap();
    let fixture: Plan = serde_json::from_str(&std::fs::read_to_string(plan_path()).unwrap()).unwrap();
    // The server version and fingerprints depend on the test server; what impact reads must not.
    assert_eq!(cutover_impact::affected(&made), cutover_impact::affected(&fixture));
    assert_eq!(cutover_impact::affected(&made).len(), 6);
}

#[test]
fn fix_writes_exactly_the_edited_models_and_the_formats_agree() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    copy(&fixtures().join("prisma"), &repo);
    let repo_arg = repo.to_str().unwrap();
    let plan = plan_path();

    let json = cutover(&["impact", "--plan", &plan, "--repo", repo_arg, "--format", "json"]);
    assert_eq!(json.status.code(), Some(0), "{}", text(&json.stderr));
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["changes"].as_array().unwrap().len(), 6);
    assert_eq!(
        value["changes"][2],
        serde_json::json!({
            "kind": "rename_column", "table": { "schema": "public", "name": "customers" },
            "column": "fullname", "to": "full_name", "before": "contract", "after": "switch"
        })
    );
    let notes: Vec<_> = value["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["change"] == 3)
        .map(|f| (f["file"].as_str().unwrap().to_string(), f["line"].as_u64().unwrap(), f["fixed"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        notes,
        vec![
            ("prisma/schema.prisma".to_string(), 26, true),
            ("prisma/schema.prisma".to_string(), 30, false),
            ("src/reports.ts".to_string(), 7, false),
        ]
    );
    assert_eq!(
        value["edits"],
        serde_json::json!([{ "file": "prisma/schema.prisma", "summary": [
            "field Customer.fullname maps to column full_name",
            "field Order.quantity becomes BigInt",
            "field Order.status becomes String @db.VarChar(40)",
            "field Order.notes removed",
            "model AuditLog removed",
            "model Invoice maps to table bills"
        ]}])
    );

    // Without --fix nothing is written; the human report says how to write.
    let human = cutover(&["impact", "--plan", &plan, "--repo", repo_arg]);
    assert_eq!(human.status.code(), Some(0), "{}", text(&human.stderr));
    assert!(text(&human.stdout).ends_with("run again with --fix to write the edited model files\n"));
    let original = std::fs::read_to_string(fixtures().join("prisma/prisma/schema.prisma")).unwrap();
    assert_eq!(std::fs::read_to_string(repo.join("prisma/schema.prisma")).unwrap(), original);

    // The Markdown is the crate's rendering of the same analysis.
    let md = cutover(&["impact", "--plan", &plan, "--repo", repo_arg, "--format", "markdown"]);
    let files = vec![
        cutover_impact::SourceFile { path: "prisma/schema.prisma".into(), text: original.clone() },
        cutover_impact::SourceFile {
            path: "src/reports.ts".into(),
            text: std::fs::read_to_string(repo.join("src/reports.ts")).unwrap(),
        },
    ];
    let plan_value: Plan = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    let impact = cutover_impact::analyze(&plan_value, &files, cutover_impact::Limits::default());
    assert_eq!(text(&md.stdout), render::markdown(&impact));

    let fixed = cutover(&["impact", "--plan", &plan, "--repo", repo_arg, "--fix"]);
    assert_eq!(fixed.status.code(), Some(0), "{}", text(&fixed.stderr));
    assert!(text(&fixed.stdout).ends_with("model files written (--fix)\n"));
    let written = std::fs::read_to_string(repo.join("prisma/schema.prisma")).unwrap();
    assert_eq!(written, impact.edits[0].text);
    assert!(written.contains("  fullname String @map(\"full_name\")\n"));
    assert!(!written.contains("model AuditLog"));
    // Other files are left as they were.
    assert_eq!(std::fs::read_to_string(repo.join("src/reports.ts")).unwrap(), files[1].text);
}

#[cfg(unix)]
#[test]
fn symlinks_out_of_the_repository_are_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret.sql"), "SELECT notes FROM orders;\n").unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    std::os::unix::fs::symlink(outside.join("secret.sql"), repo.join("linked.sql")).unwrap();
    std::os::unix::fs::symlink(&outside, repo.join("linked_dir")).unwrap();
    std::fs::write(repo.join("own.sql"), "SELECT id FROM orders WHERE notes IS NULL;\n").unwrap();
    let out = cutover(&["impact", "--plan", &plan_path(), "--repo", repo.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let files: Vec<&str> = value["findings"].as_array().unwrap().iter().map(|f| f["file"].as_str().unwrap()).collect();
    assert_eq!(files, vec!["own.sql"]);
}

#[test]
fn usage_errors_exit_2_with_one_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_plan = dir.path().join("plan.json");
    std::fs::write(&not_a_plan, "{}").unwrap();
    let out = cutover(&["impact", "--plan", not_a_plan.to_str().unwrap(), "--repo", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).starts_with(&format!("error: {} is not a plan", not_a_plan.display())),
        "{}",
        text(&out.stderr)
    );
    let out = cutover(&["impact", "--plan", &plan_path(), "--repo", "no/such/dir"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).starts_with("error: --repo no/such/dir is not a directory"), "{}", text(&out.stderr));
}

#[test]
fn a_plan_without_app_changes_is_said_to_be_old() {
    let dir = tempfile::tempdir().unwrap();
    let mut plan: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(plan_path()).unwrap()).unwrap();
    for phase in plan["phases"].as_array_mut().unwrap() {
        for step in phase["steps"].as_array_mut().unwrap() {
            step.as_object_mut().unwrap().remove("app_changes");
        }
    }
    let old = dir.path().join("old.json");
    std::fs::write(&old, plan.to_string()).unwrap();
    let out = cutover(&["impact", "--plan", old.to_str().unwrap(), "--repo", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "The plan drops, renames and retypes nothing the application can name.\n");
    assert_eq!(
        text(&out.stderr),
        format!(
            "warning: {} has steps that break running code but records no app_changes (a plan made by an older cutover?); make the plan again to search for them\n",
            old.display()
        )
    );
}
