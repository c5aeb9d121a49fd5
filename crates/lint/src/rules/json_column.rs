//! Columns of type `json` (not `jsonb`).

use pg_query::NodeEnum;
use pg_query::protobuf::{AlterTableType, ColumnDef, TypeName};

use super::{Docs, Finding, Rule, RuleInfo, StmtRef};
use crate::ast::{TableName, added_column, alter_cmds, alter_type, type_name};
use crate::context::Ctx;
use crate::diagnostic::Severity;

pub struct JsonColumn;

static INFO: RuleInfo = RuleInfo {
    code: "json-column",
    severity: Severity::Error,
    summary: "A json column has no equality operator, so DISTINCT, UNION and GROUP BY over its table fail.",
    help: "Use jsonb.",
    docs: Docs {
        what: "Flags columns declared (CREATE TABLE, ADD COLUMN) or changed (ALTER COLUMN ... TYPE) to type `json`, arrays included; `jsonb` is not flagged.",
        why: "`json` stores the text as given and has no equality operator: existing queries that do `SELECT DISTINCT`, `UNION` or `GROUP BY` over the table's rows start failing with `could not identify an equality operator for type json` once the column exists. It is also slower to query and cannot be indexed with GIN. `jsonb` has none of these problems.",
        example: "ALTER TABLE users ADD COLUMN properties json;",
        instead: "ALTER TABLE users ADD COLUMN properties jsonb;",
    },
};

impl Rule for JsonColumn {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, stmt: &StmtRef<'_>, _ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        match stmt.node {
            NodeEnum::CreateStmt(s) => {
                let Some(table) = s.relation.as_ref().map(TableName::of) else { return };
                for elt in &s.table_elts {
                    if let Some(NodeEnum::ColumnDef(col)) = elt.node.as_ref() {
                        report(col, &table, out);
                    }
                }
            }
            NodeEnum::AlterTableStmt(alter) => {
                let Some(table) = alter.relation.as_ref().map(TableName::of) else { return };
                for cmd in alter_cmds(alter) {
                    if let Some(col) = added_column(cmd) {
                        report(col, &table, out);
                    } else if alter_type(cmd) == AlterTableType::AtAlterColumnType
                        && let Some(NodeEnum::ColumnDef(col)) = cmd.def.as_ref().and_then(|d| d.node.as_ref())
                        && col.type_name.as_ref().is_some_and(is_json)
                    {
                        out.push(finding(&cmd.name, &table));
                    }
                }
            }
            _ => {}
        }
    }
}

fn is_json(tn: &TypeName) -> bool {
    type_name(tn) == "json"
}

fn report(col: &ColumnDef, table: &TableName, out: &mut Vec<Finding>) {
    if col.type_name.as_ref().is_some_and(is_json) {
        out.push(finding(&col.colname, table));
    }
}

fn finding(col: &str, table: &TableName) -> Finding {
    Finding::new(format!(
        "{}.{col} is json, which has no equality operator: SELECT DISTINCT, UNION and GROUP BY over {} start failing.",
        table.display(),
        table.display()
    ))
}
