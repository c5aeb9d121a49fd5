//! `ADD COLUMN ... NOT NULL` without a default on an existing table.

use pg_query::NodeEnum;
use pg_query::protobuf::ConstrType;

use super::{Docs, Finding, Rule, RuleInfo, StmtRef};
use crate::ast::{TableName, added_column, alter_cmds, column_constraints, constr_type, is_serial_type};
use crate::context::Ctx;
use crate::diagnostic::Severity;

pub struct AddRequiredColumn;

static INFO: RuleInfo = RuleInfo {
    code: "add-required-column",
    severity: Severity::Error,
    summary: "A NOT NULL column without a default cannot be added to a table that has rows.",
    help: "Add the column with a DEFAULT (catalog-only on PostgreSQL 11+ for non-volatile values), or nullable, backfill, then set NOT NULL.",
    docs: Docs {
        what: "Flags `ALTER TABLE ... ADD COLUMN ... NOT NULL` with no `DEFAULT`, no `GENERATED` expression and no identity, of a non-serial type, on a table that exists before the migration.",
        why: "Every existing row would get NULL in the new column, so PostgreSQL rejects the statement as soon as the table has one row (`column contains null values`): the migration fails in production even though it passed on an empty development database.",
        example: "ALTER TABLE users ADD COLUMN plan text NOT NULL;",
        instead: "ALTER TABLE users ADD COLUMN plan text NOT NULL DEFAULT 'free';",
    },
};

impl Rule for AddRequiredColumn {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, stmt: &StmtRef<'_>, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let NodeEnum::AlterTableStmt(alter) = stmt.node else { return };
        let Some(table) = alter.relation.as_ref().map(TableName::of) else { return };
        if ctx.is_new_table(&table) || ctx.table_rows(&table) == Some(0) {
            return;
        }
        for col in alter_cmds(alter).filter_map(added_column) {
            let kinds: Vec<ConstrType> = column_constraints(col).map(constr_type).collect();
            let not_null = col.is_not_null || kinds.contains(&ConstrType::ConstrNotnull);
            let filled = col.raw_default.is_some()
                || !col.identity.is_empty()
                || !col.generated.is_empty()
                || kinds.iter().any(|k| {
                    matches!(k, ConstrType::ConstrDefault | ConstrType::ConstrGenerated | ConstrType::ConstrIdentity)
                })
                || col.type_name.as_ref().is_some_and(is_serial_type);
            if not_null && !filled {
                out.push(Finding::new(format!(
                    "Adding NOT NULL column {} without a default fails as soon as {} has a row.",
                    col.colname,
                    table.display()
                )));
            }
        }
    }
}
