//! `BEGIN` inside a transaction, or `COMMIT` / `ROLLBACK` of a transaction the file does not own.

use pg_query::NodeEnum;
use pg_query::protobuf::TransactionStmtKind;

use super::{Docs, Finding, Rule, RuleInfo, StmtRef};
use crate::context::Ctx;
use crate::diagnostic::Severity;

pub struct NestedTransaction;

static INFO: RuleInfo = RuleInfo {
    code: "nested-transaction",
    severity: Severity::Error,
    summary: "BEGIN inside a transaction, or COMMIT/ROLLBACK outside the file's own, breaks the migration's atomicity.",
    help: "Remove it, or split the migration so each file has one transaction (or none, with -- cutover:no-transaction).",
    docs: Docs {
        what: "Flags `BEGIN` / `START TRANSACTION` while a transaction is already open (an earlier `BEGIN` of the file, or the migration runner's transaction when `assume_in_transaction` is on), and `COMMIT` / `ROLLBACK` / `END` when there is no transaction of the file's own to end (none open, or the runner owns it).",
        why: "PostgreSQL has no nested transactions: a second `BEGIN` only warns, and the first `COMMIT` ends the one real transaction, so the statements after it run in autocommit and a failure leaves the migration half applied. A `COMMIT` inside the runner's transaction commits the runner's work early, and the runner's own `COMMIT` or bookkeeping then runs outside any transaction.",
        example: "-- the migration runner already wraps this file in a transaction\nBEGIN;\nALTER TABLE users ADD COLUMN nickname text;\nCOMMIT;",
        instead: "-- let the runner's transaction cover the file\nALTER TABLE users ADD COLUMN nickname text;",
    },
};

impl Rule for NestedTransaction {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, stmt: &StmtRef<'_>, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let NodeEnum::TransactionStmt(t) = stmt.node else { return };
        let message = match TransactionStmtKind::try_from(t.kind) {
            Ok(kind @ (TransactionStmtKind::TransStmtBegin | TransactionStmtKind::TransStmtStart)) => {
                let what = if kind == TransactionStmtKind::TransStmtStart { "START TRANSACTION" } else { "BEGIN" };
                if ctx.transaction_depth > 0 {
                    format!(
                        "{what} inside a transaction this file already began: PostgreSQL ignores it, and the first COMMIT ends both."
                    )
                } else if ctx.assume_in_transaction {
                    format!(
                        "{what} inside the transaction the migration tool opens: PostgreSQL ignores it, and this file's COMMIT ends the tool's transaction."
                    )
                } else {
                    return;
                }
            }
            Ok(kind @ (TransactionStmtKind::TransStmtCommit | TransactionStmtKind::TransStmtRollback)) => {
                let what = if kind == TransactionStmtKind::TransStmtCommit { "COMMIT" } else { "ROLLBACK" };
                if ctx.assume_in_transaction {
                    format!(
                        "{what} ends the transaction the migration tool opened, so the rest of the migration runs outside it."
                    )
                } else if ctx.transaction_depth == 0 {
                    format!("{what} without a transaction of this file's own to end.")
                } else {
                    return;
                }
            }
            _ => return,
        };
        out.push(Finding::new(message));
    }
}
