//! The model's answer read into an [`Answer`], and its DDL checked by PostgreSQL's parser
//! before anything runs it. What fails is a [`Problem`], which is sent back to the model.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The most characters of DDL accepted.
pub const MAX_DDL: usize = 100_000;

/// A proposal as the model gave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub summary: String,
    pub ddl: String,
    pub decisions: Vec<Decision>,
    /// What was left for later, for rollout safety.
    #[serde(default)]
    pub deferred: Vec<String>,
}

/// One choice and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub decision: String,
    pub rationale: String,
}

/// Why an answer cannot be used as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Not the requested shape.
    Unreadable(String),
    Empty,
    TooLong {
        chars: usize,
    },
    /// PostgreSQL's parser rejects a statement (line and column in the DDL).
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    /// A statement that changes data or the session, not the schema.
    NotSchema {
        line: usize,
        what: String,
    },
    /// PostgreSQL refused a statement applied to a copy of the current schema.
    Rejected {
        line: usize,
        column: usize,
        message: String,
    },
    /// A statement ran longer than the sandbox allows.
    TooSlow {
        line: usize,
    },
    /// Applied, the DDL leaves the schema as it is.
    NoChange,
    /// The design rules found something: `rule: message` each.
    Design(Vec<String>),
    /// The plan cannot make a change safely: why, and the ways out, each.
    Blocked(Vec<String>),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Unreadable(why) => write!(f, "the answer does not have the requested shape ({why})."),
            Problem::Empty => write!(f, "`ddl` is empty."),
            Problem::TooLong { chars } => write!(f, "`ddl` has {chars} characters, more than the {MAX_DDL} allowed."),
            Problem::Syntax { line, column, message } => {
                write!(f, "PostgreSQL cannot parse the DDL at line {line}, column {column}: {message}.")
            }
            Problem::NotSchema { line, what } => write!(
                f,
                "line {line} of the DDL is {what}, not a schema change; Cutover plans backfills and transactions itself."
            ),
            Problem::Rejected { line, column, message } => write!(
                f,
                "PostgreSQL refused the DDL at line {line}, column {column} when it was applied to a copy of the current schema: {message}"
            ),
            Problem::TooSlow { line } => {
                write!(f, "the statement at line {line} of the DDL ran longer than a copy of the schema allows.")
            }
            Problem::NoChange => write!(f, "applied to the current schema, the DDL changes nothing."),
            Problem::Blocked(blockers) => {
                write!(f, "Cutover cannot roll this change out safely:")?;
                for blocker in blockers {
                    write!(f, "\n- {blocker}")?;
                }
                Ok(())
            }
            Problem::Design(findings) => {
                write!(f, "the design rules found problems in the DDL; fix them or say in a decision why not:")?;
                for finding in findings {
                    write!(f, "\n- {finding}")?;
                }
                Ok(())
            }
        }
    }
}

impl Answer {
    /// Reads the structured answer; extra fields are ignored, missing or mistyped ones are a
    /// [`Problem::Unreadable`].
    pub fn from_value(value: &Value) -> Result<Answer, Problem> {
        let answer: Answer = serde_json::from_value(value.clone()).map_err(|e| Problem::Unreadable(e.to_string()))?;
        Ok(answer)
    }
}

/// Checks the DDL before it runs: present, not too long, every statement parsed by
/// PostgreSQL's parser, and none of them a data or transaction statement.
pub fn check_ddl(ddl: &str) -> Result<(), Problem> {
    if ddl.trim().is_empty() {
        return Err(Problem::Empty);
    }
    let chars = ddl.chars().count();
    if chars > MAX_DDL {
        return Err(Problem::TooLong { chars });
    }
    let file = cutover_lint::SourceFile { path: "proposal.sql".into(), text: ddl.to_string() };
    let report = cutover_lint::lint(&[file], &cutover_lint::LintOptions::default());
    if let Some(d) = report.diagnostics.iter().find(|d| d.rule == cutover_lint::rules::PARSE_ERROR.code) {
        let message = d.message.trim_start_matches("PostgreSQL cannot parse this statement: ").trim_end_matches('.');
        return Err(Problem::Syntax { line: d.line, column: d.column, message: message.to_string() });
    }
    let Ok(parsed) = pg_query::parse(ddl, 0) else { return Ok(()) };
    for raw in &parsed.protobuf.stmts {
        let Some(node) = raw.stmt.as_ref().and_then(|n| n.node.as_ref()) else { continue };
        if let Some(what) = not_schema(node) {
            let offset = usize::try_from(raw.stmt_location).unwrap_or(0).min(ddl.len());
            // The statement starts after the whitespace and comments that precede it.
            let start = offset + (ddl[offset..].len() - ddl[offset..].trim_start().len());
            let line = ddl[..start].matches('\n').count() + 1;
            return Err(Problem::NotSchema { line, what: what.to_string() });
        }
    }
    Ok(())
}

fn not_schema(node: &pg_query::NodeEnum) -> Option<&'static str> {
    use pg_query::NodeEnum as N;
    Some(match node {
        N::InsertStmt(_) => "an INSERT",
        N::UpdateStmt(_) => "an UPDATE",
        N::DeleteStmt(_) => "a DELETE",
        N::MergeStmt(_) => "a MERGE",
        N::SelectStmt(s) if s.into_clause.is_none() => "a SELECT",
        N::CopyStmt(_) => "a COPY",
        N::TruncateStmt(_) => "a TRUNCATE",
        N::TransactionStmt(_) => "a transaction statement",
        N::VariableSetStmt(_) => "a SET",
        N::DoStmt(_) => "a DO block",
        N::CallStmt(_) => "a CALL",
        N::VacuumStmt(_) => "a VACUUM or ANALYZE",
        _ => return None,
    })
}

/// The codes of the linter's design family (keys, indexes, names, types): advice on the
/// schema a proposal makes rather than on how a statement runs, which the planner takes care
/// of. Mirrors `cutover_lint::rules::DESIGN` (the design rules' branch); a code the linter
/// does not know yet simply finds nothing.
pub const DESIGN_RULES: &[&str] = &[
    "table-without-primary-key",
    "foreign-key-without-index",
    "naming-convention",
    "prefer-timestamptz",
    "money-in-floating-point",
    "free-text-instead-of-lookup",
    "time-series-without-partitioning",
];

/// The design findings of a lint report of the proposal's DDL.
pub fn design_findings(report: &cutover_lint::Report) -> Vec<cutover_lint::Diagnostic> {
    report.diagnostics.iter().filter(|d| DESIGN_RULES.contains(&d.rule.as_str())).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ddl_checks() {
        assert_eq!(check_ddl(" \n"), Err(Problem::Empty));
        assert_eq!(check_ddl("CREATE TABLE t (id bigint PRIMARY KEY);\nCREATE INDEX ON t (id);"), Ok(()));
        assert_eq!(
            check_ddl("CREATE TABLE t (id bigint PRIMARY KEY);\n\nCREATE TABLE u (id bigint amount int);"),
            Err(Problem::Syntax { line: 3, column: 27, message: "syntax error at or near \"amount\"".into() })
        );
        assert_eq!(
            check_ddl("ALTER TABLE t ADD COLUMN a int;\n-- fill it\nUPDATE t SET a = 1;"),
            Err(Problem::NotSchema { line: 3, what: "an UPDATE".into() })
        );
        assert_eq!(
            check_ddl("BEGIN; CREATE TABLE t (); COMMIT;"),
            Err(Problem::NotSchema { line: 1, what: "a transaction statement".into() })
        );
    }

    #[test]
    fn answers_of_another_shape_are_problems() {
        let bad = serde_json::json!({ "summary": "s", "decisions": [] });
        assert!(matches!(Answer::from_value(&bad), Err(Problem::Unreadable(m)) if m.contains("ddl")));
        let good = serde_json::json!({ "summary": "s", "ddl": "x", "decisions": [], "extra": 1 });
        assert_eq!(Answer::from_value(&good).unwrap().deferred, Vec::<String>::new());
    }
}
