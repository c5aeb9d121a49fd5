//! Long-running work in a transaction that already holds a lock blocking writes.

use pg_query::NodeEnum;
use pg_query::protobuf::{AlterTableType, ConstrType, LockStmt};

use super::{Docs, Finding, Rule, RuleInfo, StmtRef, lock_risk};
use crate::ast::{TableName, added_constraint, alter_cmds, alter_type, constr_type, statement_label};
use crate::context::Ctx;
use crate::diagnostic::Severity;

pub struct LocksHeldAcrossStatements;

static INFO: RuleInfo = RuleInfo {
    code: "locks-held-across-statements",
    severity: Severity::Error,
    summary: "A long-running statement runs in a transaction that still holds a lock blocking writes from an earlier statement.",
    help: "Commit after the statement that takes the lock and run the long step in its own transaction (backfills in batches, outside a transaction).",
    docs: Docs {
        what: "In a transaction block (explicit `BEGIN`, or the migration runner's transaction with `assume_in_transaction`), flags a statement that scans or rewrites data — `VALIDATE CONSTRAINT`, an `UPDATE`, `DELETE`, `MERGE` or `INSERT ... SELECT` on a locked table, or a scanning schema change (CREATE INDEX, SET NOT NULL, ALTER COLUMN TYPE, a constraint added without NOT VALID) on another existing table — when an earlier statement of the same transaction took a lock that blocks writes (SHARE or stronger) on a table that existed before the migration.",
        why: "Locks are held until the transaction ends. `ADD CONSTRAINT ... NOT VALID` followed by `VALIDATE CONSTRAINT` in one transaction keeps the ADD's SHARE ROW EXCLUSIVE (or ACCESS EXCLUSIVE) lock for the whole validating scan, which is exactly what NOT VALID was meant to avoid; an `ADD COLUMN` followed by a backfill `UPDATE` keeps the table unreadable until every row is written.",
        example: "BEGIN;\nALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk;\nCOMMIT;",
        instead: "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;\n-- separate transaction (or migration):\nALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk;",
    },
};

/// What the current statement does for a long time.
enum Work {
    /// Scans its table, whichever table holds the lock.
    Validate(TableName),
    /// Reads or writes every matching row of this table: only matters if that table is locked.
    Dml(TableName),
    /// A scanning schema change of this table: reported when another table is locked (its own
    /// lock is the business of the rule for that change).
    Ddl(TableName),
}

impl Rule for LocksHeldAcrossStatements {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, stmt: &StmtRef<'_>, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let Some(work) = long_work(stmt.node, ctx) else { return };
        if !ctx.in_transaction_block() {
            return;
        }
        for earlier in ctx.transaction_so_far() {
            for (table, lock) in write_blocking_locks(earlier) {
                if ctx.is_new_table(&table) {
                    continue;
                }
                let relevant = match &work {
                    Work::Validate(_) => true,
                    Work::Dml(t) => t == &table,
                    Work::Ddl(t) => t != &table,
                };
                if !relevant {
                    continue;
                }
                let blocks = if lock == "ACCESS EXCLUSIVE" {
                    format!("reads and writes of {} wait", table.display())
                } else {
                    format!("writes to {} wait", table.display())
                };
                let what = match &work {
                    Work::Validate(t) => format!("VALIDATE CONSTRAINT on {}", t.display()),
                    Work::Dml(t) | Work::Ddl(t) => {
                        format!("{} on {}", statement_label(stmt.node, stmt.text), t.display())
                    }
                };
                out.push(lock_risk(
                    ctx,
                    &table,
                    Finding::new(format!(
                        "{what} runs while this transaction still holds {lock} on {} from an earlier {}, so {blocks} for as long as it runs.",
                        table.display(),
                        statement_label(earlier, "statement")
                    )),
                ));
                return;
            }
        }
    }
}

fn long_work(node: &NodeEnum, ctx: &Ctx<'_>) -> Option<Work> {
    match node {
        NodeEnum::AlterTableStmt(alter) => {
            let table = TableName::of(alter.relation.as_ref()?);
            if alter_cmds(alter).any(|c| alter_type(c) == AlterTableType::AtValidateConstraint) {
                return Some(Work::Validate(table));
            }
            if ctx.is_new_table(&table) {
                return None;
            }
            let scans = alter_cmds(alter).any(|c| match alter_type(c) {
                AlterTableType::AtSetNotNull | AlterTableType::AtAlterColumnType => true,
                AlterTableType::AtAddConstraint => added_constraint(c).is_some_and(|k| match constr_type(k) {
                    ConstrType::ConstrForeign | ConstrType::ConstrCheck => !k.skip_validation,
                    ConstrType::ConstrUnique | ConstrType::ConstrPrimary => k.indexname.is_empty(),
                    _ => false,
                }),
                _ => false,
            });
            scans.then_some(Work::Ddl(table))
        }
        NodeEnum::IndexStmt(s) if !s.concurrent => {
            let table = TableName::of(s.relation.as_ref()?);
            (!ctx.is_new_table(&table)).then_some(Work::Ddl(table))
        }
        NodeEnum::UpdateStmt(s) => Some(Work::Dml(TableName::of(s.relation.as_ref()?))),
        NodeEnum::DeleteStmt(s) => Some(Work::Dml(TableName::of(s.relation.as_ref()?))),
        NodeEnum::MergeStmt(s) => Some(Work::Dml(TableName::of(s.relation.as_ref()?))),
        NodeEnum::InsertStmt(s) => {
            let from_select = matches!(
                s.select_stmt.as_deref().and_then(|n| n.node.as_ref()),
                Some(NodeEnum::SelectStmt(sel)) if !sel.from_clause.is_empty()
            );
            from_select.then(|| s.relation.as_ref().map(|rv| Work::Dml(TableName::of(rv))))?
        }
        _ => None,
    }
}

/// The tables a statement locks against writes until its transaction ends, with the mode.
fn write_blocking_locks(node: &NodeEnum) -> Vec<(TableName, &'static str)> {
    let rels = |nodes: &[pg_query::protobuf::Node]| -> Vec<TableName> {
        nodes
            .iter()
            .filter_map(|n| match n.node.as_ref()? {
                NodeEnum::RangeVar(rv) => Some(TableName::of(rv)),
                _ => None,
            })
            .collect()
    };
    match node {
        NodeEnum::AlterTableStmt(alter) => {
            let Some(table) = alter.relation.as_ref().map(TableName::of) else { return Vec::new() };
            let mut out = Vec::new();
            let mut strongest: Option<&'static str> = None;
            for cmd in alter_cmds(alter) {
                let mode = match alter_type(cmd) {
                    AlterTableType::AtValidateConstraint
                    | AlterTableType::AtSetStatistics
                    | AlterTableType::AtClusterOn
                    | AlterTableType::AtDropCluster
                    | AlterTableType::AtSetOptions
                    | AlterTableType::AtResetOptions
                    | AlterTableType::AtSetRelOptions
                    | AlterTableType::AtResetRelOptions
                    | AlterTableType::AtAttachPartition => None,
                    AlterTableType::AtAddConstraint
                        if added_constraint(cmd).is_some_and(|c| constr_type(c) == ConstrType::ConstrForeign) =>
                    {
                        if let Some(pk) = added_constraint(cmd).and_then(|c| c.pktable.as_ref()) {
                            out.push((TableName::of(pk), "SHARE ROW EXCLUSIVE"));
                        }
                        Some("SHARE ROW EXCLUSIVE")
                    }
                    AlterTableType::AtEnableTrig
                    | AlterTableType::AtDisableTrig
                    | AlterTableType::AtEnableTrigAll
                    | AlterTableType::AtDisableTrigAll
                    | AlterTableType::AtEnableTrigUser
                    | AlterTableType::AtDisableTrigUser => Some("SHARE ROW EXCLUSIVE"),
                    _ => Some("ACCESS EXCLUSIVE"),
                };
                strongest = match (strongest, mode) {
                    (Some("ACCESS EXCLUSIVE"), _) | (_, Some("ACCESS EXCLUSIVE")) => Some("ACCESS EXCLUSIVE"),
                    (a, b) => b.or(a),
                };
            }
            if let Some(mode) = strongest {
                out.insert(0, (table, mode));
            }
            out
        }
        NodeEnum::IndexStmt(s) if !s.concurrent => s.relation.iter().map(|rv| (TableName::of(rv), "SHARE")).collect(),
        NodeEnum::RenameStmt(s) => s.relation.iter().map(|rv| (TableName::of(rv), "ACCESS EXCLUSIVE")).collect(),
        NodeEnum::TruncateStmt(s) => rels(&s.relations).into_iter().map(|t| (t, "ACCESS EXCLUSIVE")).collect(),
        NodeEnum::LockStmt(s) => match lock_mode(s) {
            Some(mode) => rels(&s.relations).into_iter().map(|t| (t, mode)).collect(),
            None => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// `LOCK TABLE` modes that block writes (SHARE and stronger; 5..=8 in lockdefs.h).
fn lock_mode(s: &LockStmt) -> Option<&'static str> {
    match s.mode {
        5 => Some("SHARE"),
        6 => Some("SHARE ROW EXCLUSIVE"),
        7 => Some("EXCLUSIVE"),
        8 => Some("ACCESS EXCLUSIVE"),
        _ => None,
    }
}
