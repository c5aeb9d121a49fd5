//! Schema changes that wait for their locks with no `lock_timeout` set.

use pg_query::NodeEnum;

use super::{Docs, Finding, Rule, RuleInfo, StmtRef};
use crate::ast::{TableName, is_ddl, statement_label};
use crate::context::{Ctx, locks_against_writes};
use crate::diagnostic::Severity;

pub struct MissingLockTimeout;

static INFO: RuleInfo = RuleInfo {
    code: "missing-lock-timeout",
    severity: Severity::Error,
    summary: "A schema change runs without lock_timeout: while it waits for its lock, every query on the table queues behind it.",
    help: "Start the migration with SET lock_timeout = '2s' (and retry it if it gives up).",
    docs: Docs {
        what: "Flags, once per file, the first schema-changing statement (CREATE/ALTER/DROP, except a CREATE TABLE without foreign keys; COMMENT, LOCK, REINDEX, TRUNCATE, VACUUM, CLUSTER, REFRESH MATERIALIZED VIEW) that runs before any `SET lock_timeout` in the file.",
        why: "A statement waiting for its lock queues behind any long-running query on the table, and every query that arrives after it queues behind it: a one-millisecond ALTER TABLE can stop all traffic to the table for as long as the oldest transaction runs. With lock_timeout the statement gives up instead, and can be retried.",
        example: "ALTER TABLE users ADD COLUMN nickname text;",
        instead: "SET lock_timeout = '2s';\nALTER TABLE users ADD COLUMN nickname text;",
    },
};

impl Rule for MissingLockTimeout {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, stmt: &StmtRef<'_>, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        if ctx.lock_timeout_set() || !is_ddl(stmt.node) || ctx.ddl_ran_before_set("lock_timeout") {
            return;
        }
        // A table created earlier in this history is not visible to other sessions (or is
        // new and unused): nothing can be queued behind a lock on it.
        if target(stmt.node).is_some_and(|t| ctx.is_new_table(&t)) {
            return;
        }
        let target = target(stmt.node).map_or_else(|| "the objects it changes".to_string(), |t| t.display());
        out.push(Finding::new(format!(
            "{} runs without lock_timeout: if it waits for its lock, every query on {target} queues behind it.",
            statement_label(stmt.node, stmt.text)
        )));
    }
}

/// The table a statement locks, when it names one.
fn target(node: &NodeEnum) -> Option<TableName> {
    locks_against_writes(node).or_else(|| match node {
        NodeEnum::IndexStmt(s) => s.relation.as_ref().map(TableName::of),
        NodeEnum::LockStmt(s) => s.relations.iter().find_map(|n| match n.node.as_ref()? {
            NodeEnum::RangeVar(rv) => Some(TableName::of(rv)),
            _ => None,
        }),
        NodeEnum::ReindexStmt(s) => s.relation.as_ref().map(TableName::of),
        _ => None,
    })
}
