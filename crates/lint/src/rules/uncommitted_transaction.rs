//! A file that ends inside a transaction it began.

use pg_query::NodeEnum;
use pg_query::protobuf::TransactionStmtKind;

use super::{Docs, Finding, Rule, RuleInfo, StmtRef};
use crate::context::Ctx;
use crate::diagnostic::Severity;

pub struct UncommittedTransaction;

static INFO: RuleInfo = RuleInfo {
    code: "uncommitted-transaction",
    severity: Severity::Error,
    summary: "A migration that begins a transaction and never commits it loses its changes or holds its locks.",
    help: "Add COMMIT; at the end of the migration.",
    docs: Docs {
        what: "Flags a file whose last `BEGIN` / `START TRANSACTION` has no later `COMMIT`, `END`, `ROLLBACK` or `PREPARE TRANSACTION`. Only the file's own explicit transactions count; the transaction a migration runner opens is its business. The finding is at that BEGIN.",
        why: "What happens then depends on the runner: the session may end and roll everything back (the migration silently did nothing, yet may be recorded as applied), or the transaction stays open and keeps every lock it took, blocking the tables it touched until the connection closes.",
        example: "BEGIN;\nALTER TABLE users ADD COLUMN nickname text;",
        instead: "BEGIN;\nALTER TABLE users ADD COLUMN nickname text;\nCOMMIT;",
    },
};

impl Rule for UncommittedTransaction {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, _stmt: &StmtRef<'_>, _ctx: &Ctx<'_>, _out: &mut Vec<Finding>) {}

    fn finish(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        if ctx.transaction_depth == 0 {
            return;
        }
        // The finding is at the BEGIN that is never closed: the last one of the file.
        let begin = ctx.previous.iter().zip(&ctx.previous_spans).rev().find_map(|(n, span)| match n {
            NodeEnum::TransactionStmt(t) => match TransactionStmtKind::try_from(t.kind) {
                Ok(TransactionStmtKind::TransStmtStart) => Some(("START TRANSACTION", *span)),
                Ok(TransactionStmtKind::TransStmtBegin) => Some(("BEGIN", *span)),
                _ => None,
            },
            _ => None,
        });
        let mut finding = Finding::new(format!(
            "The file ends inside the transaction opened by this {}, which is never committed or rolled back.",
            begin.map_or("BEGIN", |(b, _)| b)
        ));
        finding.span = begin.map(|(_, span)| span);
        out.push(finding);
    }
}
