//! `SET NOT NULL` on an existing table: a full scan under ACCESS EXCLUSIVE.

use pg_query::NodeEnum;
use std::collections::BTreeMap;

use pg_query::protobuf::{AlterTableType, ConstrType, Node, NullTestType};

use super::{Docs, Finding, Rule, RuleInfo, StmtRef, altered_existing_table, lock_risk};
use crate::ast::{TableName, alter_cmds, alter_type, constr_type, string};
use crate::context::Ctx;
use crate::diagnostic::Severity;

pub struct SetNotNullOnPopulatedTable;

static INFO: RuleInfo = RuleInfo {
    code: "set-not-null-on-populated-table",
    severity: Severity::Error,
    summary: "SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock.",
    help: "Add CHECK (column IS NOT NULL) NOT VALID, VALIDATE it, then SET NOT NULL: PostgreSQL 12+ uses the validated check and skips the scan.",
    docs: Docs {
        what: "Flags `ALTER TABLE ... ALTER COLUMN ... SET NOT NULL` on a table that exists before the migration, unless (on PostgreSQL 12+) an earlier statement validated a `CHECK (column IS NOT NULL)` on the table, or validated a constraint of the table that this history does not know (taken to be such a check added by an earlier migration).",
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
        let Some((table, alter)) = altered_existing_table(stmt, ctx) else { return };
        for cmd in alter_cmds(alter) {
            if alter_type(cmd) == AlterTableType::AtSetNotNull
                && !(ctx.pg_version >= 12 && proven(ctx, &table, &cmd.name))
            {
                out.push(lock_risk(
                    ctx,
                    &table,
                    Finding::new(format!(
                        "SET NOT NULL on {}.{} scans the whole table while holding ACCESS EXCLUSIVE, blocking reads and writes.",
                        table.display(),
                        cmd.name
                    ))
                    .help(format!(
                        "Add CHECK ({} IS NOT NULL) NOT VALID, VALIDATE it in a separate transaction, then SET NOT NULL (PostgreSQL 12+ skips the scan) and drop the check.",
                        cmd.name
                    )),
                ));
            }
        }
    }
}

/// An earlier statement of the file proves `column` has no NULLs, so PostgreSQL 12+ skips the
/// scan: a validated `CHECK (column IS NOT NULL)` (or PostgreSQL 18 `NOT NULL` constraint) on
/// the table, or a VALIDATE CONSTRAINT on the table of a constraint this history does not know
/// (taken to be such a check added by an earlier migration).
fn proven(ctx: &Ctx<'_>, table: &TableName, column: &str) -> bool {
    // name -> (proves this column, validated)
    let mut known: BTreeMap<String, (bool, bool)> = BTreeMap::new();
    let mut validated_unknown = false;
    for alter in ctx.alters_of(table) {
        for cmd in alter_cmds(alter) {
            match alter_type(cmd) {
                AlterTableType::AtAddConstraint => {
                    let Some(NodeEnum::Constraint(c)) = cmd.def.as_ref().and_then(|d| d.node.as_ref()) else {
                        continue;
                    };
                    let proves = match constr_type(c) {
                        ConstrType::ConstrCheck => c.raw_expr.as_deref().is_some_and(|e| is_not_null_test(e, column)),
                        ConstrType::ConstrNotnull => c.keys.iter().filter_map(string).any(|k| k == column),
                        _ => false,
                    };
                    known.insert(c.conname.clone(), (proves, !c.skip_validation));
                }
                AlterTableType::AtValidateConstraint => match known.get_mut(&cmd.name) {
                    Some(entry) => entry.1 = true,
                    None => validated_unknown = true,
                },
                AlterTableType::AtDropConstraint => {
                    known.remove(&cmd.name);
                }
                _ => {}
            }
        }
    }
    validated_unknown
        || known.values().any(|&(proves, validated)| proves && validated)
        || proven_by_database(ctx, table, column)
}

/// The live database already proves the column has no NULLs: it is NOT NULL, or a validated
/// `CHECK (column IS NOT NULL)` exists (PostgreSQL 12+ then skips the scan).
fn proven_by_database(ctx: &Ctx<'_>, table: &TableName, column: &str) -> bool {
    let Some(db) = ctx.database else { return false };
    let key = table.qual_name();
    let Some(t) = db.tables.get(&key) else { return false };
    if t.column(column).is_some_and(|c| c.not_null) {
        return true;
    }
    let quoted = cutover_sql::quote::ident(column);
    let wanted = [format!("CHECK (({column} IS NOT NULL))"), format!("CHECK (({quoted} IS NOT NULL))")];
    t.constraints
        .values()
        .any(|c| c.kind == cutover_schema::ConstraintKind::Check && c.validated && wanted.contains(&c.definition))
}

/// `column IS NOT NULL`, exactly.
fn is_not_null_test(expr: &Node, column: &str) -> bool {
    let Some(NodeEnum::NullTest(t)) = expr.node.as_ref() else { return false };
    if t.nulltesttype != NullTestType::IsNotNull as i32 {
        return false;
    }
    matches!(t.arg.as_deref().and_then(|a| a.node.as_ref()),
        Some(NodeEnum::ColumnRef(c)) if c.fields.iter().filter_map(string).next_back() == Some(column))
}
