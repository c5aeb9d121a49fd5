//! What an approved proposal becomes: the template sections the issue's description lacked,
//! to be added to it, so that the description holds the change as if the requester had written
//! it (and can edit it) and the request parser reads it like any other. Sections the
//! description already has are left as written.

use cutover_plan::planner::{PhaseName, Plan};
use cutover_request::{Field, Parsed, ProblemKind};

use crate::{Answer, is_destructive};

/// The Markdown to append to the description: *Proposed schema changes* with the DDL, and the
/// *Objective*, *Migration type* and *Downtime tolerance* it needs when they are missing
/// (the objective as the first line of the summary, the migration types from the plan,
/// zero-downtime). Empty when nothing is missing.
pub fn missing_sections(parsed: &Parsed, answer: &Answer, plan: &Plan) -> String {
    let missing = |field: Field| {
        parsed.problems.iter().any(|p| {
            p.field == field
                && (p.kind == ProblemKind::Missing
                    || (field == Field::ProposedChanges && matches!(p.kind, ProblemKind::Invalid(_))))
        })
    };
    let mut out = String::new();
    if missing(Field::Objective) {
        let summary = answer.summary.lines().next().unwrap_or_default().trim();
        out.push_str(&format!("\n## {}\n{}\n", Field::Objective.title(), cutover_plan::markdown::text(summary)));
    }
    if missing(Field::ProposedChanges) {
        let ddl = answer.ddl.trim();
        let fence = cutover_plan::markdown::fence_for(ddl);
        out.push_str(&format!("\n## {}\n{fence}sql\n{ddl}\n{fence}\n", Field::ProposedChanges.title()));
    }
    if missing(Field::MigrationType) {
        out.push_str(&format!("\n## {}\n{}\n", Field::MigrationType.title(), migration_types(plan).join(", ")));
    }
    if missing(Field::Downtime) {
        out.push_str(&format!("\n## {}\nzero-downtime\n", Field::Downtime.title()));
    }
    out
}

/// The migration types a plan amounts to: additive when it adds or changes something before
/// the contract phase, backfill with a backfill phase, destructive when it deletes data.
fn migration_types(plan: &Plan) -> Vec<&'static str> {
    let has = |name: PhaseName| plan.phases.iter().any(|p| p.name == name);
    let mut types = Vec::new();
    if has(PhaseName::Expand) || has(PhaseName::Switch) {
        types.push("additive");
    }
    if has(PhaseName::Backfill) {
        types.push("backfill");
    }
    if is_destructive(plan) {
        types.push("destructive");
    }
    if types.is_empty() {
        types.push("refactor");
    }
    types
}

#[cfg(test)]
mod tests {
    use super::*;
    use cutover_request::{MigrationType, ProposedChange};

    fn plan(phases: &[PhaseName]) -> Plan {
        let phases = phases.iter().map(|&name| cutover_plan::planner::Phase { name, steps: vec![] }).collect();
        Plan { version: 1, server_version_num: 150000, phases, blockers: vec![], relations: Default::default() }
    }

    #[test]
    fn a_prose_issue_with_the_sections_added_parses_as_the_proposal() {
        let description = "Support wants to record refunds against orders, with the amount and why.\n";
        let answer = Answer {
            summary: "A refunds table.\nMore.".into(),
            ddl: "CREATE TABLE refunds (id bigint PRIMARY KEY, note text DEFAULT '```');\n".into(),
            decisions: vec![],
            deferred: vec![],
        };
        let parsed = cutover_request::parse(description);
        let added = missing_sections(&parsed, &answer, &plan(&[PhaseName::Expand]));
        let request = cutover_request::parse(&format!("{description}{added}")).request.expect("a request");
        let ProposedChange::Sql(block) = &request.proposed else { panic!("{:?}", request.proposed) };
        assert_eq!(block.text, answer.ddl);
        assert_eq!(request.objective, "A refunds table.");
        assert_eq!(request.migration_types, [MigrationType::Additive]);
        assert_eq!(request.downtime, cutover_request::Downtime::ZeroDowntime);
        // Nothing is missing any more.
        assert_eq!(
            missing_sections(&cutover_request::parse(&format!("{description}{added}")), &answer, &plan(&[])),
            ""
        );
    }

    #[test]
    fn sections_already_written_are_kept() {
        let description =
            "## Objective\nRefunds.\n## Migration type\nadditive\n## Proposed schema changes\nA table for refunds.\n";
        let answer = Answer { summary: "s".into(), ddl: "DROP TABLE t;".into(), decisions: vec![], deferred: vec![] };
        let added = missing_sections(&cutover_request::parse(description), &answer, &plan(&[PhaseName::Contract]));
        assert_eq!(
            added,
            "\n## Proposed schema changes\n```sql\nDROP TABLE t;\n```\n\n## Downtime tolerance\nzero-downtime\n"
        );
    }
}
