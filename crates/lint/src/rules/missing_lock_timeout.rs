//! Statements that wait for a table lock with no `lock_timeout` set.

use super::{Docs, Finding, Rule, RuleInfo, StmtRef};
use crate::context::{Ctx, locks_against_writes};
use crate::diagnostic::Severity;

pub struct MissingLockTimeout;

static INFO: RuleInfo = RuleInfo {
    code: "missing-lock-timeout",
    severity: Severity::Warning,
    summary: "A statement that needs a strong table lock runs without lock_timeout.",
    help: "Start the migration with SET lock_timeout = '2s' (and retry it if it gives up).",
    docs: Docs {
        what: "Flags a statement that takes a lock blocking writes (ALTER TABLE, CREATE INDEX without CONCURRENTLY, renames, TRUNCATE) on an existing table when no `SET lock_timeout` came before it in the migration.",
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
        if ctx.lock_timeout_set() {
            return;
        }
        let Some(table) = locks_against_writes(stmt.node) else { return };
        if ctx.is_new_table(&table) {
            return;
        }
        out.push(Finding::new(format!(
            "This statement waits for a lock on {} with no lock_timeout, queueing every query behind it.",
            table.display()
        )));
    }
}
