//! `DROP INDEX` without `CONCURRENTLY`.

use pg_query::NodeEnum;
use pg_query::protobuf::ObjectType;

use super::{Docs, Finding, Rule, RuleInfo, StmtRef};
use crate::context::Ctx;
use crate::diagnostic::Severity;

pub struct DropIndexNonConcurrently;

static INFO: RuleInfo = RuleInfo {
    code: "drop-index-non-concurrently",
    severity: Severity::Error,
    summary: "DROP INDEX without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on the table.",
    help: "Use DROP INDEX CONCURRENTLY, outside a transaction block.",
    docs: Docs {
        what: "Flags `DROP INDEX` without `CONCURRENTLY`.",
        why: "A plain `DROP INDEX` takes an ACCESS EXCLUSIVE lock on the index's table: it waits behind every running query on the table and then blocks all reads and writes until it is done.",
        example: "DROP INDEX users_email_idx;",
        instead: "DROP INDEX CONCURRENTLY users_email_idx;",
    },
};

impl Rule for DropIndexNonConcurrently {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, stmt: &StmtRef<'_>, _ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let NodeEnum::DropStmt(drop) = stmt.node else { return };
        if drop.remove_type != ObjectType::ObjectIndex as i32 || drop.concurrent {
            return;
        }
        out.push(Finding::new(
            "Dropping an index without CONCURRENTLY locks its table against reads and writes (ACCESS EXCLUSIVE).",
        ));
    }
}
