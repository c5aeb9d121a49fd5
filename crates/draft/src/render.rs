//! The proposal comment: what the model proposed (its DDL quoted, its words escaped), the
//! trade-offs, the plan Cutover made of it, the linter's findings, a mark when it destroys
//! data, and the approval question. Nothing in it is the issue's change until a person
//! approves it.

use std::fmt::Write;

use cutover_lint::Diagnostic;
use cutover_plan::HazardCode;
use cutover_plan::markdown::{code_span, fence_for, text};
use cutover_plan::planner::{Flavor, Plan, Step, render_markdown};

use crate::Answer;

/// What the agent adds when an issue has an objective but no DDL and no model is configured:
/// Cutover works as before (it asks for the DDL) and says what drafting would need.
pub const WITHOUT_MODEL: &str = "Cutover can draft the DDL from the objective when a language model is configured \
     (`CUTOVER_LLM_PROVIDER` as `anthropic` or `openai`, `CUTOVER_LLM_MODEL`, `CUTOVER_LLM_API_KEY`, or `[llm]` in \
     cutover.toml); until then, please write it under **Proposed schema changes**.";

/// The steps of `plan` that delete data.
pub fn destructive_steps(plan: &Plan) -> Vec<&Step> {
    plan.steps().filter(|(_, s)| s.hazards.iter().any(|h| h.code == HazardCode::DataLoss)).map(|(_, s)| s).collect()
}

/// Whether the proposal deletes data (a dropped table or column, a narrowed type).
pub fn is_destructive(plan: &Plan) -> bool {
    !destructive_steps(plan).is_empty()
}

/// The comment that posts a proposal (Linear's Markdown).
pub fn proposal_comment(answer: &Answer, plan: &Plan, findings: &[Diagnostic]) -> String {
    let mut out = String::new();
    out.push_str("## Cutover's proposal\n\n");
    out.push_str(
        "The issue says what is needed but not the DDL, so this is a draft made by a language model from the \
         issue's text and the current schema. Nothing is planned as the issue's change until you approve it.\n\n",
    );
    let destructive = destructive_steps(plan);
    if !destructive.is_empty() {
        out.push_str("> **Destructive: this proposal deletes data.** Check that the issue asks for it:\n");
        for step in &destructive {
            let first = step.sql.lines().next().unwrap_or_default();
            let _ = writeln!(out, "> - {}", code_span(first));
        }
        out.push('\n');
    }
    let _ = writeln!(out, "{}\n", text(answer.summary.trim()));
    let ddl = answer.ddl.trim();
    let fence = fence_for(ddl);
    let _ = writeln!(out, "### Proposed schema change\n\n{fence}sql\n{ddl}\n{fence}\n");
    if !answer.decisions.is_empty() {
        out.push_str("### Why\n\n");
        for d in &answer.decisions {
            let _ = writeln!(out, "- **{}**: {}", text(d.decision.trim()), text(d.rationale.trim()));
        }
        out.push('\n');
    }
    if !answer.deferred.is_empty() {
        out.push_str("### Left for later, for a safe rollout\n\n");
        for item in &answer.deferred {
            let _ = writeln!(out, "- {}", text(item.trim()));
        }
        out.push('\n');
    }
    if !findings.is_empty() {
        out.push_str("### Design findings\n\n");
        for d in findings {
            let _ = writeln!(
                out,
                "- {} ({}, line {}): {} {}",
                code_span(&d.rule),
                d.severity.as_str(),
                d.line,
                text(&d.message),
                text(&d.help)
            );
        }
        out.push('\n');
    }
    out.push_str("Approved, it would roll out like this:\n\n");
    out.push_str(render_markdown(plan, Flavor::Linear).trim_end());
    out.push_str("\n\n---\n");
    out.push_str(
        "**Do you approve this proposal as the issue's change?** Reply **approve** to plan it, or edit the SQL into \
         the description's *Proposed schema changes* section (or say what to change) and reply.\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Decision;
    use cutover_lint::{Severity, Span};

    #[test]
    fn findings_and_model_words_are_escaped() {
        let answer = Answer {
            summary: "Adds <b>x</b>.\n# Approved".into(),
            ddl: "CREATE TABLE t (note text DEFAULT '```');".into(),
            decisions: vec![Decision { decision: "[link](http://x)".into(), rationale: "`code`".into() }],
            deferred: vec![],
        };
        let plan = Plan {
            version: 1,
            server_version_num: 150000,
            phases: vec![],
            blockers: vec![],
            relations: Default::default(),
        };
        let finding = Diagnostic {
            rule: "table-without-primary-key".into(),
            severity: Severity::Warning,
            file: "proposal.sql".into(),
            line: 1,
            column: 1,
            end_line: 1,
            end_column: 10,
            message: "Table t has no primary key.".into(),
            help: "Add one.".into(),
            span: Span::default(),
        };
        let comment = proposal_comment(&answer, &plan, &[finding]);
        assert!(comment.contains("Adds \\<b\\>x\\</b\\>. # Approved\n"), "{comment}");
        assert!(comment.contains("````sql\nCREATE TABLE t (note text DEFAULT '```');\n````"), "{comment}");
        assert!(comment.contains("- **\\[link\\](http://x)**: \\`code\\`\n"), "{comment}");
        assert!(comment.contains(
            "### Design findings\n\n- `table-without-primary-key` (warning, line 1): Table t has no primary key. Add one.\n"
        ));
        assert!(!comment.contains("Destructive"));
    }
}
