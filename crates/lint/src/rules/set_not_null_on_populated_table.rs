//! `SET NOT NULL` on an existing table: a full scan under ACCESS EXCLUSIVE.

use pg_query::NodeEnum;
use pg_query::protobuf::AlterTableType;

use super::{Docs, Finding, Rule, RuleInfo, StmtRef, lock_risk};
use crate::ast::{TableName, alter_cmds, alter_type};
use crate::context::Ctx;
use crate::diagnostic::Severity;

pub struct SetNotNullOnPopulatedTable;

static INFO: RuleInfo = RuleInfo {
    code: "set-not-null-on-populated-table",
    severity: Severity::Error,
    summary: "SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock.",
    help: "Add CHECK (column IS NOT NULL) NOT VALID, VALIDATE it, then SET NOT NULL: PostgreSQL 12+ uses the validated check and skips the scan.",
    docs: Docs {
        what: "Flags `ALTER TABLE ... ALTER COLUMN ... SET NOT NULL` on a table that exists before the migration.",
        why: "PostgreSQL checks every row for NULLs while holding an ACCESS EXCLUSIVE lock, so all reads and writes of the table wait for a full scan. Since PostgreSQL 12 a validated `CHECK (column IS NOT NULL)` lets SET NOT NULL skip the scan, and the check can be validated without blocking writes.",
        example: "ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
        instead: "ALTER TABLE users ADD CONSTRAINT users_email_not_null CHECK (email IS NOT NULL) NOT VALID;\nALTER TABLE users VALIDATE CONSTRAINT users_email_not_null;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;\nALTER TABLE users DROP CONSTRAINT users_email_not_null;",
    },
};

impl Rule for SetNotNullOnPopulatedTable {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, stmt: &StmtRef<'_>, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let NodeEnum::AlterTableStmt(alter) = stmt.node else { return };
        let Some(table) = alter.relation.as_ref().map(TableName::of) else { return };
        if ctx.is_new_table(&table) {
            return;
        }
        for cmd in alter_cmds(alter) {
            if alter_type(cmd) == AlterTableType::AtSetNotNull {
                out.push(lock_risk(
                    ctx,
                    &table,
                    Finding::new(format!(
                        "SET NOT NULL on {}.{} scans every row while blocking reads and writes.",
                        table.display(),
                        cmd.name
                    )),
                ));
            }
        }
    }
}
