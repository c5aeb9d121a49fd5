//! `UPDATE` or `DELETE` of a whole existing table in one statement.

use pg_query::NodeEnum;

use super::{Docs, Finding, Rule, RuleInfo, StmtRef, lock_risk};
use crate::ast::TableName;
use crate::context::Ctx;
use crate::diagnostic::Severity;

pub struct UnbatchedBackfill;

static INFO: RuleInfo = RuleInfo {
    code: "unbatched-backfill",
    severity: Severity::Error,
    summary: "An UPDATE or DELETE without WHERE rewrites every row of the table in one transaction.",
    help: "Backfill in batches of a few thousand rows (by primary key ranges), each in its own transaction, outside the schema migration.",
    docs: Docs {
        what: "Flags `UPDATE` and `DELETE` statements without a `WHERE` clause on a table that exists before the migration.",
        why: "One statement touching every row locks all of them until the transaction ends (blocking every concurrent update of those rows), writes a new version of each row (bloat, a burst of WAL that replicas must replay), and in the same transaction as DDL keeps the DDL's lock on the table for the whole backfill.",
        example: "ALTER TABLE users ADD COLUMN plan text;\nUPDATE users SET plan = 'free';",
        instead: "ALTER TABLE users ADD COLUMN plan text;\n-- later, in batches, each in its own transaction:\nUPDATE users SET plan = 'free' WHERE id BETWEEN 1 AND 10000 AND plan IS NULL;",
    },
};

impl Rule for UnbatchedBackfill {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, stmt: &StmtRef<'_>, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let (verb, relation) = match stmt.node {
            NodeEnum::UpdateStmt(u) if u.where_clause.is_none() => ("Updating", u.relation.as_ref()),
            NodeEnum::DeleteStmt(d) if d.where_clause.is_none() => ("Deleting", d.relation.as_ref()),
            _ => return,
        };
        let Some(table) = relation.map(TableName::of) else { return };
        if ctx.is_new_table(&table) {
            return;
        }
        out.push(lock_risk(
            ctx,
            &table,
            Finding::new(format!(
                "{verb} every row of {} in one statement locks all of its rows until the transaction ends.",
                table.display()
            )),
        ));
    }
}
