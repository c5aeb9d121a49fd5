//! The plan scenario files (tests/scenarios/plan/*.sql), read once for the suites that run
//! them: plan_scenarios.rs (snapshots, convergence, queries) and rollout_recipes.rs (the
//! real binary under a concurrent writer).

use cutover_plan::planner::{self, PhaseName, PlanOptions};
use cutover_schema::{QualName, TableFacts};
use std::path::Path;

/// One plan scenario file (the format is documented in plan_scenarios.rs).
#[derive(Debug, Default)]
pub struct Scenario {
    pub name: String,
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

/// Reads a scenario file; a malformed one panics naming the file and the problem.
pub fn parse(path: &Path) -> Scenario {
    let text = std::fs::read_to_string(path).expect("scenario file");
    let mut s = Scenario { name: path.file_stem().unwrap().to_string_lossy().into_owned(), ..Default::default() };
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
