//! `CONCURRENTLY` operations (and others PostgreSQL refuses) inside a transaction block.

use pg_query::NodeEnum;
use pg_query::protobuf::{AlterTableType, TransactionStmtKind};

use super::{Docs, Finding, Rule, RuleInfo, StmtRef};
use crate::ast::{alter_cmds, alter_type};
use crate::context::Ctx;
use crate::diagnostic::Severity;

pub struct ConcurrentlyInTransaction;

static INFO: RuleInfo = RuleInfo {
    code: "concurrently-in-transaction",
    severity: Severity::Error,
    summary: "CONCURRENTLY (and VACUUM, CREATE/DROP DATABASE) cannot run inside a transaction block; the migration fails.",
    help: "Move it to its own migration that runs without a transaction (or COMMIT before it).",
    docs: Docs {
        what: "Flags `CREATE INDEX CONCURRENTLY`, `DROP INDEX CONCURRENTLY`, `REINDEX ... CONCURRENTLY`, `ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY`, `VACUUM`, `CREATE DATABASE`, `DROP DATABASE` and (before PostgreSQL 12) `ALTER TYPE ... ADD VALUE` inside an explicit transaction, or when the migration runner wraps each migration in a transaction (`assume_in_transaction`). A migration file that consists of that one statement is taken to run without the runner's transaction (it cannot work any other way), and `-- cutover:no-transaction` marks a file the runner does not wrap.",
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
        let Some(what) = refused_in_transaction(stmt.node, ctx.pg_version) else { return };
        if !ctx.in_transaction_block() {
            return;
        }
        let explicit = explicit_begin(&ctx.previous);
        // Under the runner's transaction, the first statement of a file may be the whole file
        // (then the runner must run it alone): decided at the end of the file.
        if !explicit && ctx.previous.is_empty() {
            return;
        }
        let by = if explicit { "an explicit BEGIN" } else { "the migration tool" };
        out.push(Finding::new(format!(
            "{what} cannot run inside a transaction block; this one runs inside the transaction begun by {by}."
        )));
    }

    fn finish(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        // The deferred first statement: flagged when the file has more statements, since the
        // runner's transaction then wraps them all.
        let Some(first) = ctx.previous.first() else { return };
        if ctx.previous.len() < 2 || !ctx.assume_in_transaction {
            return;
        }
        if let Some(what) = refused_in_transaction(first, ctx.pg_version) {
            let mut finding = Finding::new(format!(
                "{what} cannot run inside a transaction block, but the migration tool wraps this file (it has other statements) in one."
            ));
            finding.span = ctx.previous_spans.first().copied();
            out.push(finding);
        }
    }
}

fn explicit_begin(previous: &[NodeEnum]) -> bool {
    previous.iter().rev().find_map(|n| match n {
        NodeEnum::TransactionStmt(t) => match TransactionStmtKind::try_from(t.kind) {
            Ok(TransactionStmtKind::TransStmtBegin | TransactionStmtKind::TransStmtStart) => Some(true),
            Ok(
                TransactionStmtKind::TransStmtCommit
                | TransactionStmtKind::TransStmtRollback
                | TransactionStmtKind::TransStmtPrepare,
            ) => Some(false),
            _ => None,
        },
        _ => None,
    }) == Some(true)
}

/// The statements PostgreSQL refuses inside a transaction block.
fn refused_in_transaction(node: &NodeEnum, pg_version: u32) -> Option<&'static str> {
    let what = match node {
        NodeEnum::IndexStmt(s) if s.concurrent => "CREATE INDEX CONCURRENTLY",
        NodeEnum::DropStmt(s) if s.concurrent => "DROP INDEX CONCURRENTLY",
        NodeEnum::ReindexStmt(s)
            if s.params.iter().any(|p| {
                matches!(p.node.as_ref(), Some(NodeEnum::DefElem(d)) if d.defname == "concurrently"
                    && d.arg.as_deref().and_then(crate::ast::string).is_none_or(|v| !matches!(v, "false" | "off" | "0")))
            }) =>
        {
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
        NodeEnum::VacuumStmt(s) if s.is_vacuumcmd => "VACUUM",
        NodeEnum::CreatedbStmt(_) => "CREATE DATABASE",
        NodeEnum::DropdbStmt(_) => "DROP DATABASE",
        NodeEnum::AlterEnumStmt(s) if !s.new_val.is_empty() && pg_version < 12 => "ALTER TYPE ... ADD VALUE",
        _ => return None,
    };
    Some(what)
}
