//! Renaming an existing table (or view): running code that still uses the old name fails.

use pg_query::NodeEnum;
use pg_query::protobuf::ObjectType;

use super::{Docs, Finding, Rule, RuleInfo, StmtRef};
use crate::ast::TableName;
use crate::context::Ctx;
use crate::diagnostic::Severity;

pub struct RenameTable;

static INFO: RuleInfo = RuleInfo {
    code: "rename-table",
    severity: Severity::Error,
    summary: "Renaming a table breaks running code that still uses the old name.",
    help: "Create the new table, write to both and backfill (or keep the old name as a view), move readers over, then drop the old table later.",
    docs: Docs {
        what: "Flags `ALTER TABLE ... RENAME TO` (and the same for views, materialized views and foreign tables) on a relation that exists before the migration. Relations created earlier in the same history are not flagged.",
        why: "The application version that is running while the migration applies still queries the old name: every such query fails with `relation does not exist` from the moment the rename commits until every instance runs the new code.",
        example: "ALTER TABLE users RENAME TO customers;",
        instead: "-- release 1: create the new table and keep it in sync\nCREATE TABLE customers (LIKE users INCLUDING ALL);\n-- (trigger or dual writes, then copy existing rows in batches)\n-- release 2: use customers everywhere\n-- release 3:\nDROP TABLE users;",
    },
};

impl Rule for RenameTable {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, stmt: &StmtRef<'_>, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let NodeEnum::RenameStmt(rename) = stmt.node else { return };
        let kind = match ObjectType::try_from(rename.rename_type) {
            Ok(ObjectType::ObjectTable) => "table",
            Ok(ObjectType::ObjectView) => "view",
            Ok(ObjectType::ObjectMatview) => "materialized view",
            Ok(ObjectType::ObjectForeignTable) => "foreign table",
            _ => return,
        };
        let Some(table) = rename.relation.as_ref().map(TableName::of) else { return };
        if ctx.is_new_table(&table) {
            return;
        }
        out.push(Finding::new(format!(
            "Renaming {kind} {old} to {new} breaks every running query that still uses {old}.",
            old = table.display(),
            new = rename.newname
        )));
    }
}
