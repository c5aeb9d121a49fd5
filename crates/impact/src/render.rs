//! The renderings of an [`Impact`]: terminal text, JSON, and Markdown for the pull request
//! body and the plan: the "Update application queries and ORM models" checklist item,
//! placed before the phase that needs the application changed. Text from the repository
//! (paths, excerpts) is quoted through `cutover_plan::markdown`.

use crate::{Affected, Finding, Impact};
use cutover_plan::markdown;
use cutover_plan::planner::{AppChange, PhaseName};
use std::fmt::Write;

/// What a change does, in a few words: `orders.notes is dropped`.
pub fn describe(change: &AppChange) -> String {
    match change {
        AppChange::DropTable { table } => format!("table {table} is dropped"),
        AppChange::RenameTable { table, to } => format!("table {table} is renamed to {to}"),
        AppChange::DropColumn { table, column } => format!("column {table}.{column} is dropped"),
        AppChange::RenameColumn { table, column, to } => format!("column {table}.{column} is renamed to {to}"),
        AppChange::RetypeColumn { table, column, from, to } => {
            format!("column {table}.{column} changes type from {from} to {to}")
        }
    }
}

fn when(a: &Affected) -> String {
    match a.after {
        Some(after) => format!("after the {after} phase, before the {} phase", a.before),
        None => format!("before the {} phase", a.before),
    }
}

pub fn json(impact: &Impact) -> String {
    serde_json::to_string_pretty(impact).unwrap_or_default() + "\n"
}

pub fn human(impact: &Impact) -> String {
    let mut s = String::new();
    if impact.changes.is_empty() {
        writeln!(s, "The plan drops, renames and retypes nothing the application can name.").unwrap();
        return s;
    }
    for (i, a) in impact.changes.iter().enumerate() {
        writeln!(s, "{} (update the application {}):", describe(&a.change), when(a)).unwrap();
        let findings: Vec<&Finding> = impact.findings_of(i).collect();
        if findings.is_empty() {
            writeln!(s, "  nothing found").unwrap();
        }
        for f in findings {
            writeln!(
                s,
                "  {}:{}:{}  {} ({}, {}{})",
                f.file,
                f.line,
                f.column,
                f.what,
                f.source.as_str(),
                f.confidence.as_str(),
                if f.fixed { ", edited" } else { "" }
            )
            .unwrap();
            writeln!(s, "      {}", f.excerpt).unwrap();
        }
        s.push('\n');
    }
    for e in &impact.edits {
        writeln!(s, "edit {}:", e.file).unwrap();
        for line in &e.summary {
            writeln!(s, "  {line}").unwrap();
        }
    }
    for k in &impact.skipped {
        writeln!(s, "skipped {}: {}", k.file, k.reason).unwrap();
    }
    let found = impact.findings.len();
    let fixed = impact.findings.iter().filter(|f| f.fixed).count();
    writeln!(
        s,
        "{} change{}, {found} reference{} ({fixed} covered by model edits), {} file{} to edit",
        impact.changes.len(),
        plural(impact.changes.len()),
        plural(found),
        impact.edits.len(),
        plural(impact.edits.len())
    )
    .unwrap();
    s
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The checklist item for the changes that must be in the application before `phase`, or
/// `None` when there are none: what goes between the previous phase and `phase` in the
/// plan's Markdown.
pub fn markdown_before(impact: &Impact, phase: PhaseName) -> Option<String> {
    let changes: Vec<usize> = (0..impact.changes.len()).filter(|&i| impact.changes[i].before == phase).collect();
    let first = changes.first().map(|&i| &impact.changes[i])?;
    let mut s = String::new();
    writeln!(s, "- [ ] **Update application queries and ORM models** ({})", when(first)).unwrap();
    for i in changes {
        let a = &impact.changes[i];
        let findings: Vec<&Finding> = impact.findings_of(i).collect();
        let edited = findings.iter().filter(|f| f.fixed).count();
        let mut line = format!("  - {}", markdown::text(&describe(&a.change)));
        match (findings.len(), edited) {
            (0, _) => line.push_str(": nothing found in the repository"),
            (n, 0) => write!(line, ": {n} reference{}", plural(n)).unwrap(),
            (n, e) => write!(line, ": {n} reference{}, {e} updated in this pull request", plural(n)).unwrap(),
        }
        writeln!(s, "{line}").unwrap();
        for f in findings {
            writeln!(
                s,
                "    - [{}] {} {} ({}, {} confidence{}): {}",
                if f.fixed { "x" } else { " " },
                markdown::code_span(&format!("{}:{}", f.file, f.line)),
                markdown::text(&f.what),
                f.source.as_str(),
                f.confidence.as_str(),
                if f.fixed { ", edited" } else { "" },
                markdown::code_span(&f.excerpt)
            )
            .unwrap();
        }
    }
    Some(s)
}

/// The whole "Application impact" section of a pull request body: one checklist item per
/// phase the application must change before, in phase order, and the model files edited.
pub fn markdown(impact: &Impact) -> String {
    let mut s = String::from("## Application impact\n\n");
    if impact.changes.is_empty() {
        s.push_str("The plan drops, renames and retypes nothing the application can name.\n");
        return s;
    }
    for phase in PhaseName::ALL {
        if let Some(item) = markdown_before(impact, phase) {
            s.push_str(&item);
        }
    }
    if !impact.edits.is_empty() {
        s.push_str("\nModel files updated in this pull request:\n\n");
        for e in &impact.edits {
            writeln!(s, "- {}: {}", markdown::code_span(&e.file), markdown::text(&e.summary.join("; "))).unwrap();
        }
    }
    if !impact.skipped.is_empty() {
        writeln!(
            s,
            "\nNot searched: {} file{} (too large or past the limit).",
            impact.skipped.len(),
            plural(impact.skipped.len())
        )
        .unwrap();
    }
    s
}

/// A plan's Markdown with the checklist items between its phases: `phases` is the plan's
/// rendering of each phase (as `planner::render_phase_markdown` gives them), in order.
pub fn interleave(impact: &Impact, names: &[PhaseName], phases: &[String]) -> String {
    let mut s = String::new();
    for (name, text) in names.iter().zip(phases) {
        if let Some(item) = markdown_before(impact, *name) {
            s.push_str(&item);
            s.push('\n');
        }
        s.push_str(text);
        if !text.ends_with('\n') {
            s.push('\n');
        }
    }
    s
}
