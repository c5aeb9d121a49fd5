//! The one message that asks the requester to fix what is missing or contradictory, with a
//! snippet of the template to copy.

use crate::{Field, Problem};

/// What a field should say, for "is missing: ...".
pub(crate) fn hint(field: Field) -> &'static str {
    match field {
        Field::Objective => "what should change, and why",
        Field::AffectedServices => "the services and tables the change touches",
        Field::Limitations => "what the current schema cannot do",
        Field::ProposedChanges => {
            "the DDL in a `` ```sql `` block, or the path of the desired schema in the repository"
        }
        Field::MigrationType => "one or more of additive, destructive, backfill, refactor, rollback",
        Field::Downtime => "`zero-downtime`, or a window such as `10 minutes, Sunday 02:00-04:00 UTC`",
        Field::Validation => "queries, row-count checks or latency budgets that show the migration worked",
    }
}

/// A filled-in section of the template, valid as written.
pub(crate) fn snippet(field: Field) -> &'static str {
    match field {
        Field::Objective => "## Objective\nLet login require a verified email address.",
        Field::AffectedServices => "## Affected services\n- auth-api\n- table `users`",
        Field::Limitations => {
            "## Current schema limitations\n`users` does not record whether the email address was verified."
        }
        Field::ProposedChanges => {
            "## Proposed schema changes\n```sql\nALTER TABLE users ADD COLUMN email_verified boolean;\n```"
        }
        Field::MigrationType => "## Migration type\nadditive, backfill",
        Field::Downtime => "## Downtime tolerance\nzero-downtime",
        Field::Validation => {
            "## Validation plan\n- row counts: `SELECT count(*) FROM users WHERE email_verified IS NULL` returns 0\n\
             - p95 latency of `POST /login` stays under 120 ms"
        }
    }
}

/// One Markdown message listing every problem, in template order, and a template snippet for
/// each section concerned. Empty when there are no problems.
pub fn elicitation(problems: &[Problem]) -> String {
    if problems.is_empty() {
        return String::new();
    }
    let mut out = String::from(if problems.len() == 1 {
        "I can't plan this migration yet:\n\n"
    } else {
        "I can't plan this migration yet. The request needs a few fixes:\n\n"
    });
    let mut sorted: Vec<&Problem> = problems.iter().collect();
    sorted.sort_by_key(|p| p.field);
    for problem in &sorted {
        out.push_str(&format!("- {problem}\n"));
    }
    let mut fields: Vec<Field> = sorted.iter().map(|p| p.field).collect();
    fields.dedup();
    let snippets: Vec<&str> = fields.iter().map(|&f| snippet(f)).collect();
    let sections = if fields.len() == 1 { "this section" } else { "these sections" };
    out.push_str(&format!(
        "\nIn the issue description, {sections} could read like this:\n\n````markdown\n{}\n````\n\n\
         Once the description is updated, mention me or reply here and I'll read it again.\n",
        snippets.join("\n\n")
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_snippets_are_a_valid_request() {
        let all: Vec<&str> = Field::ALL.iter().map(|&f| snippet(f)).collect();
        let parsed = crate::parse(&all.join("\n\n"));
        assert_eq!(parsed.problems, []);
        let request = parsed.request.unwrap();
        assert_eq!(request.validation.len(), 2);
        assert_eq!(request.affected_services.len(), 2);
        assert!(request.limitations.is_some());
    }

    #[test]
    fn no_problems_no_message() {
        assert_eq!(elicitation(&[]), "");
    }
}
