//! Whether an issue is one to draft for: its description says what is needed but gives no
//! DDL (no *Proposed schema changes*, or one that describes the change only in words), and nothing else in it needs a
//! person's answer first (a contradiction, a field that cannot be read, an unclosed code
//! block). Missing template fields other than the DDL do not stop a draft: a proposal is
//! reviewed before anything is planned as the issue's change, and its plan says what kind of
//! migration it is.

use cutover_request::{Field, Parsed, Problem, ProblemKind};

/// How `cutover_request` says that *Proposed schema changes* holds only prose.
const PROSE_ONLY: &str = "it has neither a `` ```sql `` block nor a desired-schema path";

/// True for a description with something to go on and no DDL.
pub fn needs_draft(parsed: &Parsed, description: &str) -> bool {
    let draftable = |p: &Problem| {
        p.field == Field::ProposedChanges
            && match &p.kind {
                ProblemKind::Missing => true,
                // The section describes the change in words (the request crate's message for
                // exactly that case; a test below pins it).
                ProblemKind::Invalid(message) => message.starts_with(PROSE_ONLY),
                ProblemKind::Contradictory(_) => false,
            }
    };
    let no_ddl = parsed.problems.iter().any(draftable);
    let blocked = parsed.problems.iter().any(|p| p.kind != ProblemKind::Missing && !draftable(p));
    let words = description.split_whitespace().filter(|w| w.chars().any(char::is_alphanumeric)).count();
    no_ddl && !blocked && words >= 3
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(description: &str) -> bool {
        needs_draft(&cutover_request::parse(description), description)
    }

    #[test]
    fn prose_and_template_without_ddl_are_drafted() {
        assert!(check("We need an index on orders.customer_id please"));
        assert!(check("## Objective\nRecord refunds against orders.\n\n## Downtime tolerance\nzero-downtime\n"));
        assert!(check(
            "## Objective\nFaster order history.\n## Proposed schema changes\nAn index on orders by customer.\n"
        ));
    }

    #[test]
    fn ddl_contradictions_and_empty_issues_are_not() {
        let with_ddl = "## Objective\nx y z\n## Proposed schema changes\n```sql\nCREATE TABLE t ();\n```\n\
                        ## Migration type\nadditive\n## Downtime tolerance\nzero-downtime\n";
        assert!(!check(with_ddl));
        assert!(!check("## Objective\nRecord refunds.\n## Migration type\nadditive, rollback, sideways\n"));
        assert!(!check("## Objective\nRecord refunds.\n## Proposed schema changes\n```sql\nCREATE TABLE t ();\n"));
        // DDL written outside a code block is asked to be fenced, not redrafted.
        assert!(!check(
            "## Objective\nFaster history.\n## Proposed schema changes\nCREATE INDEX ON orders (customer_id);\n"
        ));
        assert!(!check("please"));
        assert!(!check(""));
    }
}
