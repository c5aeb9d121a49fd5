//! Every diff and plan scenario (tests/scenarios/) from its recorded catalogs
//! (tests/recorded/), without a server: the diff and the plan must match the same snapshots
//! (tests/snapshots/) the server suites in crates/cutover/tests check, the diff must order
//! without cycles, and a blocked plan must be unblocked by --allow-downtime (or stay blocked
//! when the scenario expects it). A recording made from another text of its scenario fails
//! with the command that records it again. `CUTOVER_SCENARIO=part` narrows the run.

#[path = "../../cutover/tests/common/scenario.rs"]
mod scenario;

fn check_all(family: &str, run: impl Fn(&std::path::Path) -> Result<(String, String), String>) {
    let paths = scenario::paths(family);
    assert!(!paths.is_empty(), "no {family} scenarios");
    let mut outputs = Vec::new();
    let mut failures = Vec::new();
    for path in &paths {
        match run(path) {
            Ok(output) => outputs.push(output),
            Err(e) => failures.push(format!("=== {} ===\n{e}", path.display())),
        }
    }
    assert!(failures.is_empty(), "{} scenario(s) failed:\n\n{}", failures.len(), failures.join("\n\n"));
    let snapshots = scenario::root().join("tests/snapshots").join(family);
    insta::with_settings!({ snapshot_path => snapshots, prepend_module_to_snapshot => false, omit_expression => true }, {
        for (name, text) in outputs {
            insta::assert_snapshot!(name, text);
        }
    });
}

#[test]
fn every_diff_scenario_from_its_recorded_catalogs_matches_its_snapshot() {
    check_all("diff", |path| {
        let s = scenario::parse_diff(path);
        let recording = scenario::load("diff", &s.name, &s.hash)?;
        let diff = cutover_plan::diff(&recording.before, &recording.after, &s.options);
        if diff.ordering_cycles > 0 {
            return Err(format!("the dependency order had {} cycle(s):\n{}", diff.ordering_cycles, diff.to_sql()));
        }
        Ok((s.name, scenario::render_diff(&diff)))
    });
}

#[test]
fn every_plan_scenario_from_its_recorded_catalogs_matches_its_snapshot() {
    check_all("plan", |path| {
        let s = scenario::parse(path);
        let recording = scenario::load("plan", &s.name, &s.hash)?;
        let current = scenario::with_facts(&s, recording.before);
        let rendered = scenario::render_plan(&s, &current, &recording.after)?;
        if !s.blocked {
            scenario::executed_plan(&s, &current, &recording.after)?;
        }
        Ok((s.name, rendered))
    });
}

#[test]
fn a_recording_of_another_scenario_text_is_stale() {
    let s = scenario::parse(&scenario::root().join("tests/scenarios/plan/add_column_constant_default.sql"));
    assert!(scenario::load("plan", &s.name, &s.hash).is_ok());
    let edited = scenario::text_hash(&format!(
        "{}\n-- edited",
        std::fs::read_to_string(scenario::root().join("tests/scenarios/plan/add_column_constant_default.sql")).unwrap()
    ));
    let e = scenario::load("plan", &s.name, &edited).unwrap_err();
    assert!(e.contains("stale") && e.contains("CUTOVER_RECORD=1"), "{e}");
}

#[test]
fn every_recording_belongs_to_a_scenario() {
    for family in ["diff", "plan"] {
        let dir = scenario::root().join("tests/recorded").join(family);
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let name = entry.path().file_stem().unwrap().to_string_lossy().into_owned();
            let scenario = scenario::root().join("tests/scenarios").join(family).join(format!("{name}.sql"));
            assert!(
                scenario.is_file(),
                "{}: no scenario {} any more; delete the recording",
                entry.path().display(),
                scenario.display()
            );
        }
    }
}
