//! Dropping a column: data loss and errors in application code that still uses it.

use pg_query::NodeEnum;
use pg_query::protobuf::AlterTableType;

use super::{Docs, Finding, Rule, RuleInfo, StmtRef, altered_existing_table};
use crate::ast::{TableName, alter_cmds, alter_type};
use crate::context::Ctx;
use crate::diagnostic::Severity;

pub struct DropColumn;

static INFO: RuleInfo = RuleInfo {
    code: "drop-column",
    severity: Severity::Error,
    summary: "Dropping a column loses its data and breaks code that still reads or writes it.",
    help: "First deploy code that no longer uses the column (ignore it in the ORM), then drop it in a later migration.",
    docs: Docs {
        what: "Flags `ALTER TABLE ... DROP COLUMN` (with or without `IF EXISTS` / `CASCADE`) on a table that exists before the migration. Tables created earlier in the same history, and columns added earlier in the same file, are not flagged: no running code uses them yet.",
        why: "The running application version may still select or insert the column: its queries fail the moment the column is gone (ORMs that list columns explicitly fail even on `SELECT *`-style models). The data is gone for good; only a backup brings it back.",
        example: "ALTER TABLE users DROP COLUMN legacy_ref;",
        instead: "-- release 1: stop using users.legacy_ref in the application\n-- release 2:\nALTER TABLE users DROP COLUMN legacy_ref;",
    },
};

impl Rule for DropColumn {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, stmt: &StmtRef<'_>, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let Some((table, alter)) = altered_existing_table(stmt, ctx) else { return };
        for cmd in alter_cmds(alter) {
            if alter_type(cmd) == AlterTableType::AtDropColumn && !added_earlier(ctx, &table, &cmd.name) {
                out.push(Finding::new(format!(
                    "Dropping {}.{} deletes its data and breaks running code that still reads or writes it.",
                    table.display(),
                    cmd.name
                )));
            }
        }
    }
}

/// An earlier statement of this file added the column to the table (it holds no data yet).
fn added_earlier(ctx: &Ctx<'_>, table: &TableName, column: &str) -> bool {
    ctx.alters_of(table).any(|alter| {
        alter_cmds(alter).any(|cmd| {
            alter_type(cmd) == AlterTableType::AtAddColumn
                && matches!(cmd.def.as_ref().and_then(|d| d.node.as_ref()), Some(NodeEnum::ColumnDef(c)) if c.colname == column)
        })
    })
}
