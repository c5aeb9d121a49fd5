//! The scenario files (tests/scenarios/{diff,plan}/*.sql) and their recorded catalogs
//! (tests/recorded/{diff,plan}/*.json), read once for every suite that runs them:
//! diff_scenarios.rs and plan_scenarios.rs (on a real server: snapshots, convergence,
//! queries; they check and refresh the recordings), rollout_recipes.rs (the real binary under
//! a concurrent writer), and crates/plan/tests/recorded.rs (the same snapshots from the
//! recorded catalogs, no server), which includes this file by path. Pure: no database here.
//!
//! A recording holds the two catalogs the server read for a scenario and a hash of the
//! scenario's text; a recording whose hash is not the file's is stale and fails both suites.
//! `CUTOVER_RECORD=1 cargo test -p cutover --test diff_scenarios --test plan_scenarios`
//! rewrites them. `CUTOVER_SCENARIO=part` runs only the scenarios whose name contains `part`.

#![allow(dead_code)]

use cutover_plan::planner::{self, PhaseName, PlanOptions};
use cutover_plan::{Diff, DiffOptions};
use cutover_schema::{Catalog, QualName, TableFacts};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The repository's root (every crate lives at crates/NAME).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The scenario files of a family (`diff` or `plan`), sorted, narrowed by `CUTOVER_SCENARIO`.
pub fn paths(family: &str) -> Vec<PathBuf> {
    let dir = root().join("tests/scenarios").join(family);
    let filter = std::env::var("CUTOVER_SCENARIO").unwrap_or_default();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("scenario directory")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .filter(|p| p.file_stem().is_some_and(|s| s.to_string_lossy().contains(&filter)))
        .collect();
    paths.sort();
    paths
}

/// Whether every scenario runs (no `CUTOVER_SCENARIO` filter): counts are checked only then.
pub fn unfiltered() -> bool {
    std::env::var("CUTOVER_SCENARIO").is_err()
}

/// FNV-1a (64 bits) of a scenario's text, in hex: stable across platforms and releases.
pub fn text_hash(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The catalogs a server read for one scenario: `before` (for a plan scenario, with its
/// data loaded and before the scenario's facts are put in) and `after`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recording {
    /// [`text_hash`] of the scenario file the catalogs were read from.
    pub scenario_hash: String,
    pub before: Catalog,
    pub after: Catalog,
}

fn recording_path(family: &str, name: &str) -> PathBuf {
    root().join("tests/recorded").join(family).join(format!("{name}.json"))
}

/// The recording of a scenario; an error names the file and says how to record it again
/// when it is missing, unreadable or made from another text of the scenario.
pub fn load(family: &str, name: &str, hash: &str) -> Result<Recording, String> {
    let path = recording_path(family, name);
    let again = format!(
        "record it with `CUTOVER_RECORD=1 CUTOVER_SCENARIO={name} cargo test -p cutover --test {family}_scenarios`"
    );
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}; {again}", path.display()))?;
    let recording: Recording = serde_json::from_str(&text).map_err(|e| format!("{}: {e}; {again}", path.display()))?;
    if recording.scenario_hash != hash {
        return Err(format!("{}: stale, made from another text of the scenario; {again}", path.display()));
    }
    Ok(recording)
}

/// Called by the server suites with what the server read: with `CUTOVER_RECORD` set, writes
/// the recording; otherwise checks that the stored one is of this scenario text and holds
/// the same schema (facts, which depend on the server and on when it last analyzed, aside).
pub fn record_or_check(family: &str, name: &str, hash: &str, before: &Catalog, after: &Catalog) -> Result<(), String> {
    let fresh = Recording { scenario_hash: hash.to_string(), before: before.clone(), after: after.clone() };
    let path = recording_path(family, name);
    if std::env::var_os("CUTOVER_RECORD").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).map_err(|e| e.to_string())?;
        let json = serde_json::to_string_pretty(&fresh).map_err(|e| e.to_string())? + "\n";
        return std::fs::write(&path, json).map_err(|e| format!("{}: {e}", path.display()));
    }
    let stored = load(family, name, hash)?;
    let schema_only = |c: &Catalog| Catalog { facts: Default::default(), ..c.clone() };
    if schema_only(&stored.before) != schema_only(before) || schema_only(&stored.after) != schema_only(after) {
        return Err(format!(
            "{}: the server reads another schema than the recording holds; record it again with \
             `CUTOVER_RECORD=1 CUTOVER_SCENARIO={name} cargo test -p cutover --test {family}_scenarios`",
            path.display()
        ));
    }
    Ok(())
}

/// One diff scenario file (the format is documented in diff_scenarios.rs).
#[derive(Debug, Default)]
pub struct DiffScenario {
    pub name: String,
    /// [`text_hash`] of the file.
    pub hash: String,
    pub options: DiffOptions,
    pub before: String,
    pub after: String,
}

/// Reads a diff scenario file; a malformed one panics naming the file and the problem.
pub fn parse_diff(path: &Path) -> DiffScenario {
    let text = std::fs::read_to_string(path).expect("scenario file");
    let name = path.file_stem().unwrap().to_string_lossy().to_string();
    let mut options = DiffOptions::default();
    let (mut before, mut after) = (String::new(), String::new());
    let mut section = None;
    for line in text.lines() {
        match line.trim() {
            "-- before" => section = Some(&mut before),
            "-- after" => section = Some(&mut after),
            l if l.starts_with("-- options:") && section.is_none() => {
                for option in l["-- options:".len()..].split(',').map(str::trim) {
                    match option {
                        "with-privileges" => options.privileges = true,
                        "extension-versions" => options.extension_versions = true,
                        other => panic!("{name}: unknown option {other}"),
                    }
                }
            }
            _ => {
                if let Some(s) = section.as_mut() {
                    s.push_str(line);
                    s.push('\n');
                }
            }
        }
    }
    assert!(section.is_some(), "{name}: no -- before / -- after sections");
    DiffScenario { name, hash: text_hash(&text), options, before, after }
}

/// A diff scenario's snapshot text: each statement, preceded by its hazards as comments.
pub fn render_diff(diff: &Diff) -> String {
    let mut out = String::new();
    for change in &diff.changes {
        for hazard in &change.hazards {
            out.push_str(&format!("-- {}: {}\n", hazard.code, hazard.message));
        }
        out.push_str(&change.sql());
        out.push_str(";\n\n");
    }
    if out.is_empty() { "-- no changes\n".into() } else { out }
}

/// A plan scenario's catalogs as the planner gets them: the scenario's facts put into the
/// current one (row counts and sizes, as a live database would report them).
pub fn with_facts(s: &Scenario, mut current: Catalog) -> Catalog {
    for (table, facts) in &s.facts {
        current.facts.tables.insert(table.clone(), facts.clone());
    }
    current
}

/// The plan scenario's snapshot text: the plan for the scenario's version, for humans; for
/// a scenario that expects blockers, an error unless they remain with downtime accepted.
pub fn render_plan(s: &Scenario, current: &Catalog, desired: &Catalog) -> Result<String, String> {
    let shown = PlanOptions { server_version: s.pg_version, ..s.options.clone() };
    let rendered = planner::render_human(&planner::plan(current, desired, &shown));
    if s.blocked {
        let options = PlanOptions { allow_downtime: true, ..s.options.clone() };
        if planner::plan(current, desired, &options).blockers.is_empty() {
            return Err(format!("expected blockers even with --allow-downtime, got none:\n{rendered}"));
        }
    }
    Ok(rendered)
}

/// The plan that runs on the server the current catalog was read from: with downtime
/// accepted if the plan is blocked, which must then have no blockers.
pub fn executed_plan(
    s: &Scenario,
    current: &Catalog,
    desired: &Catalog,
) -> Result<(planner::Plan, PlanOptions), String> {
    let mut options = s.options.clone();
    let mut executed = planner::plan(current, desired, &options);
    if !executed.blockers.is_empty() {
        options.allow_downtime = true;
        executed = planner::plan(current, desired, &options);
        if !executed.blockers.is_empty() {
            return Err(format!("blockers remain with --allow-downtime:\n{}", planner::render_human(&executed)));
        }
    }
    Ok((executed, options))
}

/// One plan scenario file (the format is documented in plan_scenarios.rs).
#[derive(Debug, Default)]
pub struct Scenario {
    pub name: String,
    /// [`text_hash`] of the file.
    pub hash: String,
    pub facts: Vec<(QualName, TableFacts)>,
    pub options: PlanOptions,
    pub pg_version: Option<u32>,
    /// `-- expect: blocked`: the change cannot be planned even with downtime accepted.
    pub blocked: bool,
    pub before: String,
    pub data: String,
    pub after: String,
    pub old_queries: String,
    pub new_queries: String,
    /// `-- new queries from switch`: the phase from which new queries must work.
    pub new_from: Option<PhaseName>,
}

/// Reads a plan scenario file; a malformed one panics naming the file and the problem.
pub fn parse(path: &Path) -> Scenario {
    let text = std::fs::read_to_string(path).expect("scenario file");
    let mut s = Scenario {
        name: path.file_stem().unwrap().to_string_lossy().into_owned(),
        hash: text_hash(&text),
        ..Default::default()
    };
    let mut section: Option<&str> = None;
    for line in text.lines() {
        let trimmed = line.trim();
        let header = match trimmed {
            "-- before" => Some("before"),
            "-- data" => Some("data"),
            "-- after" => Some("after"),
            "-- old queries" => Some("old"),
            "-- new queries" => Some("new"),
            t if t.starts_with("-- new queries from ") => {
                s.new_from = PhaseName::parse(&t["-- new queries from ".len()..]);
                assert!(s.new_from.is_some(), "{}: unknown phase in {t}", s.name);
                Some("new")
            }
            _ => None,
        };
        if let Some(h) = header {
            section = Some(h);
            continue;
        }
        if section.is_none() {
            if let Some(facts) = trimmed.strip_prefix("-- facts:") {
                for entry in facts.split(';').map(str::trim).filter(|e| !e.is_empty()) {
                    let mut parts = entry.split_whitespace();
                    let table = parts.next().unwrap();
                    let (schema, name) = table.split_once('.').unwrap_or(("public", table));
                    let mut f = TableFacts::default();
                    for kv in parts {
                        match kv.split_once('=') {
                            Some(("rows", v)) => f.rows = Some(v.parse().unwrap()),
                            Some(("bytes", v)) => f.bytes = v.parse().unwrap(),
                            _ => panic!("{}: bad fact {kv}", s.name),
                        }
                    }
                    if f.bytes == 0 {
                        f.bytes = f.rows.unwrap_or(0) * 120;
                    }
                    s.facts.push((QualName::new(schema, name), f));
                }
            } else if trimmed == "-- expect: blocked" {
                s.blocked = true;
            } else if let Some(options) = trimmed.strip_prefix("-- options:") {
                for o in options.split(',').map(str::trim) {
                    match o.split_once('=') {
                        None if o == "allow-downtime" => s.options.allow_downtime = true,
                        None if o == "with-privileges" => s.options.diff.privileges = true,
                        Some(("pg-version", v)) => s.pg_version = Some(v.parse::<u32>().unwrap() * 10000),
                        Some(("rename-column", v)) => s.options.renames.push(planner::ColumnRename::parse(v).unwrap()),
                        Some(("rename-table", v)) => {
                            s.options.table_renames.push(planner::TableRename::parse(v).unwrap())
                        }
                        _ => panic!("{}: unknown option {o}", s.name),
                    }
                }
            }
            continue;
        }
        let target = match section {
            Some("before") => &mut s.before,
            Some("data") => &mut s.data,
            Some("after") => &mut s.after,
            Some("old") => &mut s.old_queries,
            _ => &mut s.new_queries,
        };
        target.push_str(line);
        target.push('\n');
    }
    s
}
