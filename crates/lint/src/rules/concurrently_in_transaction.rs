//! `CONCURRENTLY` operations inside a transaction block, where PostgreSQL refuses them.

use pg_query::NodeEnum;
use pg_query::protobuf::AlterTableType;

use super::{Docs, Finding, Rule, RuleInfo, StmtRef};
use crate::ast::{alter_cmds, alter_type};
use crate::context::Ctx;
use crate::diagnostic::Severity;

pub struct ConcurrentlyInTransaction;

static INFO: RuleInfo = RuleInfo {
    code: "concurrently-in-transaction",
    severity: Severity::Error,
    summary: "CONCURRENTLY cannot run inside a transaction block; the migration fails.",
    help: "Run this statement on its own, outside BEGIN/COMMIT (disable the runner's transaction for this migration).",
    docs: Docs {
        what: "Flags `CREATE INDEX CONCURRENTLY`, `DROP INDEX CONCURRENTLY`, `REINDEX ... CONCURRENTLY` and `ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY` inside an explicit transaction, or anywhere when the migration runner wraps each migration in a transaction (`assume_in_transaction`).",
        why: "PostgreSQL rejects these statements inside a transaction block (`cannot run inside a transaction block`), so the migration fails at that point, after the statements before it may already have run.",
        example: "BEGIN;\nCREATE INDEX CONCURRENTLY users_email_idx ON users (email);\nCOMMIT;",
        instead: "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);",
    },
};

impl Rule for ConcurrentlyInTransaction {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, stmt: &StmtRef<'_>, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        if !ctx.in_transaction() {
            return;
        }
        let what = match stmt.node {
            NodeEnum::IndexStmt(s) if s.concurrent => "CREATE INDEX CONCURRENTLY",
            NodeEnum::DropStmt(s) if s.concurrent => "DROP INDEX CONCURRENTLY",
            NodeEnum::ReindexStmt(s) if s.params.iter().any(|p| matches!(p.node.as_ref(), Some(NodeEnum::DefElem(d)) if d.defname == "concurrently")) => {
                "REINDEX CONCURRENTLY"
            }
            NodeEnum::AlterTableStmt(s)
                if alter_cmds(s).any(|c| {
                    alter_type(c) == AlterTableType::AtDetachPartition
                        && matches!(c.def.as_ref().and_then(|d| d.node.as_ref()), Some(NodeEnum::PartitionCmd(p)) if p.concurrent)
                }) =>
            {
                "DETACH PARTITION CONCURRENTLY"
            }
            _ => return,
        };
        out.push(Finding::new(format!("{what} cannot run inside a transaction block; PostgreSQL rejects it.")));
    }
}
