//! The sub-issues for work on the application that the plan needs, placed between the phase
//! sub-issues where that work must be done. Pure.
//!
//! - "Update application queries and ORM models": before the first phase that breaks what
//!   the running application names (a drop, a rename or a retype, from the planner's
//!   `Step::app_changes`), with what the repository search found (`cutover-impact`) when the
//!   pull request read the repository.
//! - "Add observability for migration health": before a backfill estimated to run longer
//!   than a few minutes, so its effect on the database and the application is watched.

use cutover_impact::Impact;
use cutover_plan::planner::{PhaseName, Plan, thousands};
use serde::{Deserialize, Serialize};

/// A backfill estimated past this many seconds gets its observability sub-issue.
pub const LONG_BACKFILL_SECONDS: f64 = 300.0;

pub const UPDATE_APPLICATION: &str = "Update application queries and ORM models";
pub const ADD_OBSERVABILITY: &str = "Add observability for migration health";

/// An application sub-issue: its title, its description, and the phase it must be done
/// before.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppIssue {
    pub title: String,
    pub description: String,
    pub before: PhaseName,
}

/// The application sub-issues of `plan`. `impact`: what the pull request found in the
/// repository (`None`: no repository was read).
pub fn sub_issues(identifier: &str, plan: &Plan, impact: Option<&Impact>) -> Vec<AppIssue> {
    let mut out = Vec::new();
    if let Some(issue) = observability(identifier, plan) {
        out.push(issue);
    }
    let searched = impact.is_some();
    let analyzed;
    let impact = match impact {
        Some(impact) => impact,
        None => {
            analyzed = cutover_impact::analyze(plan, &[], cutover_impact::Limits::default());
            &analyzed
        }
    };
    for phase in plan.phases.iter().map(|p| p.name) {
        if !impact.changes.iter().any(|c| c.before == phase) {
            continue;
        }
        let mut description = format!(
            "Part of {identifier}. The application must stop using what phase {phase} changes before that phase runs; deploy these changes first, then complete this issue.\n\n"
        );
        if searched {
            if let Some(list) = cutover_impact::render::markdown_before(impact, phase) {
                description.push_str(&list);
            }
        } else {
            description.push_str(
                "Cutover did not read the application's repository (GitHub is not configured), so it could not look for the references; search the application for each of these:\n",
            );
            for change in impact.changes.iter().filter(|c| c.before == phase) {
                description.push_str(&format!(
                    "- [ ] {}\n",
                    cutover_plan::markdown::text(&cutover_impact::render::describe(&change.change))
                ));
            }
        }
        out.push(AppIssue {
            title: format!("{identifier} · {UPDATE_APPLICATION} (before {phase})"),
            description,
            before: phase,
        });
    }
    out
}

/// The observability sub-issue, before the first long backfill.
fn observability(identifier: &str, plan: &Plan) -> Option<AppIssue> {
    let long = |s: &&cutover_plan::planner::Step| {
        s.backfill.is_some() && s.estimate.as_ref().is_some_and(|e| e.seconds > LONG_BACKFILL_SECONDS)
    };
    let phase = plan.phases.iter().find(|phase| phase.steps.iter().any(|s| long(&s)))?;
    let step = phase.steps.iter().find(long)?;
    let estimate = step.estimate.as_ref()?;
    // The table's name comes from the request: quoted, it stays a name.
    let table = crate::markdown::inline_code(&step.backfill.as_ref().map(|b| b.table.clone()).unwrap_or_default());
    let minutes = (estimate.seconds / 60.0).round().max(1.0) as u64;
    let description = format!(
        "Part of {identifier}. The backfill of {table} is estimated at about {} rows and {minutes} minute{}: have these in place before phase {} runs, so its effect is seen while it runs.\n\n\
         - [ ] A dashboard or query for its progress (`cutover backfill status`, or the checkpoint on the phase's sub-issue)\n\
         - [ ] Replication lag of every replica, with an alert\n\
         - [ ] Lock waits and blocked sessions on {table} (`pg_locks`, `pg_stat_activity`)\n\
         - [ ] Error rate and latency of the endpoints that write {table}\n\
         - [ ] Dead tuples and autovacuum on {table} (`pg_stat_user_tables`)\n\
         - [ ] Who can pause it (`pause` in the agent session, or `cutover backfill pause`), and when they should\n",
        thousands(estimate.rows),
        if minutes == 1 { "" } else { "s" },
        phase.name
    );
    Some(AppIssue {
        title: format!("{identifier} · {ADD_OBSERVABILITY} (before {})", phase.name),
        description,
        before: phase.name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hostile_table_name_stays_quoted_in_the_observability_issue() {
        let mut plan: Plan = serde_json::from_value(serde_json::json!({
            "version": 1, "server_version_num": 150000, "phases": []
        }))
        .unwrap();
        let step = serde_json::json!({
            "sql": "UPDATE x SET y = z", "transactional": true, "locks": [], "rewrites_table": false,
            "scans_table": false, "lock_timeout_ms": 1000, "statement_timeout_ms": 1000, "hazards": [],
            "rollback_sql": null, "estimate": { "rows": 9000000, "seconds": 900.0 }, "why": "",
            "backfill": { "table": "public.\"x` [click](https://evil.example) #\"", "batch_size": 1000 }
        });
        plan.phases.push(serde_json::from_value(serde_json::json!({ "name": "backfill", "steps": [step] })).unwrap());
        let issues = sub_issues("ENG-1", &plan, Some(&Impact::default()));
        let text = &issues[0].description;
        assert!(issues[0].title.ends_with("Add observability for migration health (before backfill)"));
        let quoted = crate::markdown::inline_code("public.\"x` [click](https://evil.example) #\"");
        assert!(text.contains(&format!("The backfill of {quoted} is estimated")), "{text}");
        assert_eq!(text.matches(&quoted).count(), 4, "{text}");
    }
}
