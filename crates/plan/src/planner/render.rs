//! The one human rendering of a plan, in two dialects: terminal text and Markdown (the
//! Linear comment and the pull request body). Snapshots test the same functions.

use super::estimate::{self, describe_seconds};
use super::model::{Blocker, Phase, PhaseName, Plan, Step};
use crate::hazard::HazardCode;
use crate::locks::LockMode;
use crate::markdown;
use std::fmt::Write;

#[derive(Clone, Copy, PartialEq)]
enum Dialect {
    Text,
    Markdown(Flavor),
}

/// Where Markdown is read: the two renderers differ only in collapsible sections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// GitHub and CommonMark readers: `<details><summary>`.
    GitHub,
    /// Linear, which shows HTML as text and folds `+++ Title` … `+++` sections instead.
    Linear,
}

pub fn render_human(plan: &Plan) -> String {
    render(plan, Dialect::Text)
}

pub fn render_markdown(plan: &Plan, flavor: Flavor) -> String {
    render(plan, Dialect::Markdown(flavor))
}

/// One phase on its own, for the rollout sub-issue of that phase: the same step rendering as
/// the whole plan (numbered as in the whole plan), then what to do before, during and after.
pub fn render_phase_markdown(plan: &Plan, index: usize, flavor: Flavor) -> String {
    let mut out = String::new();
    let Some(phase) = plan.phases.get(index) else { return out };
    let mut number = plan.phases[..index].iter().map(|p| p.steps.len()).sum::<usize>();
    render_phase(&mut out, phase, index + 1, plan.phases.len(), &mut number, Dialect::Markdown(flavor));
    let steps = &phase.steps;
    let any = |code: HazardCode| steps.iter().any(|s| s.hazards.iter().any(|h| h.code == code));
    let mut items: Vec<String> = Vec::new();
    if index > 0 {
        items.push(format!("The {} phase is done and verified.", plan.phases[index - 1].name));
    }
    match phase.name {
        PhaseName::Expand => {
            items.push("Apply this phase before deploying the application version that uses the new schema.".into())
        }
        PhaseName::Backfill => items.push(
            "The application version that writes the new columns is deployed everywhere, so no new row misses them."
                .into(),
        ),
        PhaseName::Switch => items.push("The backfill reports no row left to change.".into()),
        PhaseName::Contract => items.push(
            "No running application version reads or writes what this phase removes (the previous release is gone)."
                .into(),
        ),
    }
    if steps.iter().any(irreversible) {
        items.push("A fresh backup exists: some steps here cannot be undone.".into());
    }
    items.push(format!(
        "Run it: `cutover apply --database $CUTOVER_DATABASE_URL --plan plan.json --phase {}`.",
        phase.name
    ));
    if any(HazardCode::IndexBuild) {
        items.push("No index is left INVALID after the concurrent builds (`pg_index.indisvalid`).".into());
    }
    if steps.iter().any(|s| s.backfill.is_some()) {
        items.push("Backfill progress, replication lag and autovacuum look healthy while it runs.".into());
    }
    items.push("No statement waited on a lock longer than its lock_timeout; retry off-peak if one gave up.".into());
    writeln!(out, "\n### Checklist\n").unwrap();
    for item in items {
        writeln!(out, "- [ ] {item}").unwrap();
    }
    out
}

fn phase_purpose(name: PhaseName) -> &'static str {
    match name {
        PhaseName::Expand => {
            "before the new application version: adds what it needs; the running version keeps working"
        }
        PhaseName::Backfill => "while both versions run: fills new columns in small batches",
        PhaseName::Switch => "once the data is in place: enforces the new shape",
        PhaseName::Contract => {
            "after the old application version is gone: removes what only it used (a separate deploy)"
        }
    }
}

fn locks_line(step: &Step) -> String {
    let mut parts: Vec<String> = step.locks.iter().map(|l| format!("{} on {}", l.mode, l.relation)).collect();
    if parts.is_empty() {
        parts.push("no table lock".into());
    }
    if step.rewrites_table {
        parts.push("rewrites the table".into());
    } else if step.scans_table {
        parts.push("scans the table".into());
    }
    if !step.transactional {
        parts.push("outside a transaction".into());
    }
    parts.push(format!("lock_timeout {}", ms(step.lock_timeout_ms)));
    parts.push(format!("statement_timeout {}", ms(step.statement_timeout_ms)));
    parts.join(" · ")
}

fn ms(v: u64) -> String {
    if v.is_multiple_of(3_600_000) {
        format!("{}h", v / 3_600_000)
    } else if v.is_multiple_of(60_000) {
        format!("{}min", v / 60_000)
    } else if v.is_multiple_of(1000) {
        format!("{}s", v / 1000)
    } else {
        format!("{v}ms")
    }
}

fn estimate_line(step: &Step) -> Option<String> {
    let e = step.estimate.as_ref()?;
    let what = if step.backfill.is_some() { "in total" } else { "" };
    Some(format!("{} {what} on {}", describe_seconds(e.seconds), estimate::rows(e.rows)).replace("  ", " "))
}

fn render(plan: &Plan, d: Dialect) -> String {
    let mut out = String::new();
    let major = plan.server_version_num / 10000;
    let steps = plan.phases.iter().map(|p| p.steps.len()).sum::<usize>();
    let title = if plan.is_empty() {
        "No changes: the database already has the desired schema.".to_string()
    } else {
        format!(
            "Migration plan: {} phase{}, {} step{} for PostgreSQL {major}",
            plan.phases.len(),
            if plan.phases.len() == 1 { "" } else { "s" },
            steps,
            if steps == 1 { "" } else { "s" }
        )
    };
    match d {
        Dialect::Text => writeln!(out, "{title}").unwrap(),
        Dialect::Markdown(_) => writeln!(out, "## {title}").unwrap(),
    }
    if !plan.blockers.is_empty() {
        render_blockers(&mut out, &plan.blockers, d);
    }
    let mut number = 0;
    for (i, phase) in plan.phases.iter().enumerate() {
        render_phase(&mut out, phase, i + 1, plan.phases.len(), &mut number, d);
    }
    if !plan.is_empty() {
        render_checklist(&mut out, plan, d);
    }
    out
}

fn render_blockers(out: &mut String, blockers: &[Blocker], d: Dialect) {
    match d {
        Dialect::Text => {
            writeln!(
                out,
                "\nBLOCKED: {} change(s) cannot be made safely; nothing should be applied until they are resolved.",
                blockers.len()
            )
            .unwrap();
            for b in blockers {
                writeln!(out, "\n  [{}] {}\n    {}", b.code, b.message, b.sql).unwrap();
                if !b.hazards.is_empty() {
                    let codes: Vec<&str> = b.hazards.iter().map(|h| h.code.as_str()).collect();
                    writeln!(out, "    hazards if run as asked: {}", codes.join(", ")).unwrap();
                }
                for o in &b.options {
                    writeln!(out, "    - option: {o}").unwrap();
                }
            }
        }
        Dialect::Markdown(_) => {
            writeln!(out, "\n> **Blocked:** {} change(s) cannot be made safely; nothing should be applied until they are resolved.", blockers.len()).unwrap();
            for b in blockers {
                let fence = markdown::fence_for(&b.sql);
                writeln!(out, "\n**`{}`** — {}\n\n{fence}sql\n{}\n{fence}", b.code, markdown::text(&b.message), b.sql)
                    .unwrap();
                if !b.hazards.is_empty() {
                    let codes: Vec<&str> = b.hazards.iter().map(|h| h.code.as_str()).collect();
                    writeln!(out, "Hazards if run as asked: `{}`\n", codes.join("`, `")).unwrap();
                }
                for o in &b.options {
                    writeln!(out, "- Option: {}", markdown::text(o)).unwrap();
                }
            }
        }
    }
}

fn render_phase(out: &mut String, phase: &Phase, index: usize, total: usize, number: &mut usize, d: Dialect) {
    match d {
        Dialect::Text => {
            writeln!(out, "\nPhase {index} of {total}: {} — {}", phase.name, phase_purpose(phase.name)).unwrap()
        }
        Dialect::Markdown(_) => {
            writeln!(out, "\n### Phase {index} of {total}: `{}`\n\n_{}_", phase.name, phase_purpose(phase.name))
                .unwrap()
        }
    }
    for step in &phase.steps {
        *number += 1;
        let hazards: Vec<&str> = step.hazards.iter().map(|h| h.code.as_str()).collect();
        match d {
            Dialect::Text => {
                writeln!(out, "\n  {number}. {}", indent(&format!("{};", step.sql), "     ")).unwrap();
                writeln!(out, "     locks: {}", locks_line(step)).unwrap();
                if let Some(e) = estimate_line(step) {
                    writeln!(out, "     estimate: {e}").unwrap();
                }
                if let Some(b) = &step.backfill {
                    writeln!(out, "     backfill: repeat in batches of {} until no row changes", b.batch_size).unwrap();
                }
                writeln!(out, "     why: {}", step.why).unwrap();
                if !hazards.is_empty() {
                    writeln!(out, "     hazards: {}", hazards.join(", ")).unwrap();
                }
                writeln!(out, "     rollback: {}", indent(&rollback_text(step), "               ")).unwrap();
            }
            Dialect::Markdown(_) => {
                let fence = markdown::fence_for(&step.sql);
                writeln!(
                    out,
                    "\n{number}. {}\n\n   {fence}sql\n   {}\n   {fence}\n",
                    markdown::text(&step.why),
                    indent(&format!("{};", step.sql), "   ")
                )
                .unwrap();
                let mut facts = vec![format!("Locks: {}", locks_line(step))];
                if let Some(e) = estimate_line(step) {
                    facts.push(format!("Estimate: {e}"));
                }
                if let Some(b) = &step.backfill {
                    facts.push(format!("Backfill: repeat in batches of {} until no row changes", b.batch_size));
                }
                if !hazards.is_empty() {
                    facts.push(format!("Hazards: `{}`", hazards.join("`, `")));
                }
                facts.push(match &step.rollback_sql {
                    // A statement of several lines (a name may hold a line break) cannot be
                    // an inline code span: its next line would leave the list.
                    Some(r) if r.contains(['\n', '\r']) => {
                        let fence = markdown::fence_for(r);
                        format!(
                            "Rollback:\n\n     {fence}sql\n     {}\n     {fence}",
                            indent(&format!("{r};"), "     ")
                        )
                    }
                    Some(r) => format!("Rollback: {}", markdown::code_span(&format!("{r};"))),
                    None => format!("Rollback: {}", rollback_text(step)),
                });
                for f in facts {
                    writeln!(out, "   - {f}").unwrap();
                }
            }
        }
    }
    let rollbacks: Vec<String> =
        phase.steps.iter().rev().filter_map(|s| s.rollback_sql.as_ref()).map(|r| format!("{r};")).collect();
    let irreversible = phase.steps.iter().filter(|s| irreversible(s)).count();
    let header = format!("Rollback of {}", phase.name);
    let note = if irreversible > 0 { format!(" ({irreversible} step(s) cannot be undone)") } else { String::new() };
    match d {
        Dialect::Text => {
            writeln!(out, "\n  {header}, newest first{note}:").unwrap();
            if rollbacks.is_empty() {
                writeln!(out, "    nothing to run").unwrap();
            }
            for r in rollbacks {
                writeln!(out, "    {}", indent(&r, "    ")).unwrap();
            }
        }
        Dialect::Markdown(flavor) => {
            let fence = markdown::fence_for(&rollbacks.join("\n"));
            let (open, close) = match flavor {
                Flavor::GitHub => (format!("<details><summary>{header}, newest first{note}</summary>\n"), "</details>"),
                Flavor::Linear => (format!("+++ {header}, newest first{note}"), "+++"),
            };
            writeln!(out, "\n{open}\n{fence}sql").unwrap();
            if rollbacks.is_empty() {
                writeln!(out, "-- nothing to run").unwrap();
            }
            for r in rollbacks {
                writeln!(out, "{r}").unwrap();
            }
            writeln!(out, "{fence}\n{close}").unwrap();
        }
    }
}

fn indent(text: &str, prefix: &str) -> String {
    text.lines().collect::<Vec<_>>().join(&format!("\n{prefix}"))
}

fn render_checklist(out: &mut String, plan: &Plan, d: Dialect) {
    let steps: Vec<&Step> = plan.phases.iter().flat_map(|p| &p.steps).collect();
    let has = |code: HazardCode| steps.iter().filter(|s| s.hazards.iter().any(|h| h.code == code)).count();
    let mut items: Vec<(&str, String)> = Vec::new();

    let breaking = |phase: Option<PhaseName>| {
        plan.phases
            .iter()
            .filter(|p| phase.is_none_or(|n| p.name == n))
            .flat_map(|p| &p.steps)
            .filter(|s| s.hazards.iter().any(|h| h.code == HazardCode::BreaksRunningCode))
            .count()
    };
    let (all, in_contract) = (breaking(None), breaking(Some(PhaseName::Contract)));
    items.push((
        "Backward compatibility",
        match (all, all - in_contract) {
            (0, _) => "no step breaks the application version running now.".into(),
            (_, 0) => format!("{all} step(s) remove what the running version may use; all are in the contract phase, to ship only after that version is gone."),
            (_, early) => format!("{all} step(s) remove or change what the running version may use, {early} of them before the contract phase; each says why, check that the running version tolerates it."),
        },
    ));
    let built = has(HazardCode::IndexBuild);
    let dropped = has(HazardCode::IndexDropped);
    items.push((
        "Index impact",
        match (built, dropped) {
            (0, 0) => "no index is built or dropped.".into(),
            _ => format!("{built} index build(s), {dropped} index drop(s); check that queries relying on dropped indexes have replacements and that the builds fit in the disk headroom."),
        },
    ));
    let blocking: Vec<&Step> = steps
        .iter()
        .copied()
        .filter(|s| {
            s.locks.iter().any(|l| l.mode.blocks_writes())
                && s.hazards
                    .iter()
                    .any(|h| matches!(h.code, HazardCode::AccessExclusiveLock | HazardCode::BlocksWrites))
        })
        .collect();
    let long_blocking = blocking.iter().filter(|s| s.rewrites_table || s.scans_table).count();
    items.push((
        "Lock risk",
        if blocking.is_empty() {
            "no step blocks reads or writes of a table in use.".into()
        } else {
            format!(
                "{} step(s) take a lock that blocks writes ({} of them for longer than a catalog change); each has lock_timeout so it gives up instead of queueing behind long transactions — retry it off-peak if it does.",
                blocking.len(),
                long_blocking
            )
        },
    ));
    let irreversible = steps.iter().filter(|s| irreversible(s)).count();
    items.push((
        "Rollback",
        if irreversible == 0 {
            "every step can be undone; each phase's rollback runs its steps' rollbacks newest first.".into()
        } else {
            format!("{irreversible} step(s) cannot be undone: what they remove comes back only from a backup, so take one before running them.")
        },
    ));
    let mut watch = vec!["lock waits (pg_stat_activity wait_event_type = 'Lock')".to_string()];
    if built > 0 {
        watch.push("index build progress (pg_stat_progress_create_index) and INVALID indexes after a failure".into());
    }
    if steps.iter().any(|s| s.backfill.is_some()) {
        watch.push("backfill progress, replication lag and autovacuum on the backfilled tables".into());
    }
    if steps.iter().any(|s| s.locks.iter().any(|l| l.mode == LockMode::ShareUpdateExclusive) && s.scans_table) {
        watch.push("validation progress: long validations hold off VACUUM on the table".into());
    }
    items.push(("Monitoring", format!("watch {}.", watch.join("; "))));

    match d {
        Dialect::Text => {
            writeln!(out, "\nReview checklist").unwrap();
            for (title, text) in items {
                writeln!(out, "  [ ] {title}: {text}").unwrap();
            }
        }
        Dialect::Markdown(_) => {
            writeln!(out, "\n### Review checklist\n").unwrap();
            for (title, text) in items {
                writeln!(out, "- [ ] **{title}**: {text}").unwrap();
            }
        }
    }
}

/// A step whose effect cannot be reversed: it loses data or drops something with no recipe
/// to rebuild it.
fn irreversible(step: &Step) -> bool {
    step.rollback_sql.is_none()
        && step.hazards.iter().any(|h| matches!(h.code, HazardCode::DataLoss | HazardCode::IndexDropped))
}

fn rollback_text(step: &Step) -> String {
    match &step.rollback_sql {
        Some(r) => format!("{r};"),
        None if irreversible(step) => "cannot be undone (restore from a backup)".into(),
        None if step.hazards.iter().any(|h| h.code == HazardCode::BreaksRunningCode) => {
            "no automatic rollback: plan the reverse change from the schema as it is then".into()
        }
        None => "nothing to undo".into(),
    }
}
