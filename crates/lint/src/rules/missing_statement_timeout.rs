//! Schema changes that run with no `statement_timeout` set.

use super::{Docs, Finding, Rule, RuleInfo, StmtRef};
use crate::ast::{is_ddl, statement_label};
use crate::context::Ctx;
use crate::diagnostic::Severity;

pub struct MissingStatementTimeout;

static INFO: RuleInfo = RuleInfo {
    code: "missing-statement-timeout",
    severity: Severity::Warning,
    summary: "A schema change runs without statement_timeout, so a slow step can hold its locks indefinitely.",
    help: "Add SET statement_timeout for the migration (long concurrent index builds may need SET statement_timeout = 0 right before them).",
    docs: Docs {
        what: "Flags, once per file, the first schema-changing statement (CREATE/ALTER/DROP, except a CREATE TABLE without foreign keys; COMMENT, LOCK, REINDEX, TRUNCATE, VACUUM, CLUSTER, REFRESH MATERIALIZED VIEW) that runs before any `SET statement_timeout` in the file.",
        why: "A migration statement that runs far longer than expected (a scan of a table larger than assumed, a rewrite) keeps its locks for as long as it runs, and the queries queued behind it wait too. A statement timeout bounds the damage: the statement fails, its transaction rolls back, and the locks are released.",
        example: "ALTER TABLE users ADD COLUMN nickname text;",
        instead: "SET statement_timeout = '5min';\nALTER TABLE users ADD COLUMN nickname text;",
    },
};

impl Rule for MissingStatementTimeout {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, stmt: &StmtRef<'_>, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        if ctx.statement_timeout_set() || !is_ddl(stmt.node) || ctx.ddl_ran_before_set("statement_timeout") {
            return;
        }
        // Work on a table created earlier in this history is work on an empty table.
        if crate::context::locks_against_writes(stmt.node)
            .or_else(|| match stmt.node {
                pg_query::NodeEnum::IndexStmt(s) => s.relation.as_ref().map(crate::ast::TableName::of),
                _ => None,
            })
            .is_some_and(|t| ctx.is_new_table(&t))
        {
            return;
        }
        out.push(Finding::new(format!(
            "{} runs without statement_timeout, so a slow step can hold its locks indefinitely.",
            statement_label(stmt.node, stmt.text)
        )));
    }
}
