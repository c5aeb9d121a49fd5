//! `ALTER COLUMN ... DROP NOT NULL` on an existing table.

use pg_query::protobuf::AlterTableType;

use super::{Docs, Finding, Rule, RuleInfo, StmtRef, altered_existing_table};
use crate::ast::{alter_cmds, alter_type};
use crate::context::Ctx;
use crate::diagnostic::Severity;

pub struct DropNotNull;

static INFO: RuleInfo = RuleInfo {
    code: "drop-not-null",
    severity: Severity::Warning,
    summary: "Dropping NOT NULL lets NULLs into a column that running code may assume is never NULL.",
    help: "Make sure every reader of the column handles NULL before deploying this.",
    docs: Docs {
        what: "Flags `ALTER TABLE ... ALTER COLUMN ... DROP NOT NULL` on a table that exists before the migration.",
        why: "Code written against the column assumes a value is always present: once new writers store NULL, readers that do not expect it crash or compute wrong results (NULL in arithmetic, comparisons and `NOT IN`), and the change is hard to undo because SET NOT NULL then fails on the NULL rows.",
        example: "ALTER TABLE users ALTER COLUMN email DROP NOT NULL;",
        instead: "-- release 1: make every reader of users.email handle NULL\n-- release 2:\nALTER TABLE users ALTER COLUMN email DROP NOT NULL;",
    },
};

impl Rule for DropNotNull {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, stmt: &StmtRef<'_>, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let Some((table, alter)) = altered_existing_table(stmt, ctx) else { return };
        for cmd in alter_cmds(alter) {
            if alter_type(cmd) == AlterTableType::AtDropNotNull {
                out.push(Finding::new(format!(
                    "Dropping NOT NULL on {}.{} lets NULLs in that running code may not expect.",
                    table.display(),
                    cmd.name
                )));
            }
        }
    }
}
