//! Renaming a column of an existing table: running code that still uses the old name fails.

use pg_query::NodeEnum;
use pg_query::protobuf::ObjectType;

use super::{Docs, Finding, Rule, RuleInfo, StmtRef};
use crate::ast::TableName;
use crate::context::Ctx;
use crate::diagnostic::Severity;

pub struct RenameColumn;

static INFO: RuleInfo = RuleInfo {
    code: "rename-column",
    severity: Severity::Error,
    summary: "Renaming a column breaks running code that still uses the old name.",
    help: "Add the new column, write to both and backfill, move readers over, then drop the old column in a later release.",
    docs: Docs {
        what: "Flags `ALTER TABLE ... RENAME COLUMN` (also on views, materialized views and foreign tables) on a relation that exists before the migration. Relations created earlier in the same history are not flagged.",
        why: "The application version that is running while the migration applies still names the old column: its queries fail with `column does not exist` from the moment the rename commits until every instance runs the new code. There is no window in which old and new code both work.",
        example: "ALTER TABLE users RENAME COLUMN name TO full_name;",
        instead: "-- release 1: add the new column and keep both in sync\nALTER TABLE users ADD COLUMN full_name text;\n-- (trigger or dual writes, then backfill full_name from name in batches)\n-- release 2: read full_name everywhere\n-- release 3:\nALTER TABLE users DROP COLUMN name;",
    },
};

impl Rule for RenameColumn {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, stmt: &StmtRef<'_>, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let NodeEnum::RenameStmt(rename) = stmt.node else { return };
        if ObjectType::try_from(rename.rename_type) != Ok(ObjectType::ObjectColumn) {
            return;
        }
        let Some(table) = rename.relation.as_ref().map(TableName::of) else { return };
        if ctx.is_new_table(&table) {
            return;
        }
        out.push(Finding::new(format!(
            "Renaming {table}.{old} to {new} breaks every running query and ORM model that still uses {old}.",
            table = table.display(),
            old = rename.subname,
            new = rename.newname
        )));
    }
}
