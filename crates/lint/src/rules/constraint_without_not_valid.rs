//! Foreign keys and check constraints added to an existing table without `NOT VALID`.

use pg_query::NodeEnum;
use pg_query::protobuf::{AlterTableType, ConstrType};

use super::{Docs, Finding, Rule, RuleInfo, StmtRef, altered_existing_table, lock_risk};
use crate::ast::{TableName, added_column, alter_cmds, alter_type, column_constraints, constr_type};
use crate::context::Ctx;
use crate::diagnostic::Severity;

pub struct ConstraintWithoutNotValid;

static INFO: RuleInfo = RuleInfo {
    code: "constraint-without-not-valid",
    severity: Severity::Error,
    summary: "A constraint added without NOT VALID checks every row while holding a lock that blocks writes.",
    help: "Add it with NOT VALID, then run ALTER TABLE ... VALIDATE CONSTRAINT in a separate transaction.",
    docs: Docs {
        what: "Flags `ALTER TABLE ... ADD CONSTRAINT` of a FOREIGN KEY, CHECK or (PostgreSQL 18) NOT NULL constraint without `NOT VALID`, and `ADD COLUMN ... REFERENCES` (which cannot be NOT VALID), on a table that exists before the migration. Adding NOT VALID and then validating in the same transaction is reported by locks-held-across-statements.",
        why: "Adding the constraint validates every existing row while holding the ALTER TABLE lock (SHARE ROW EXCLUSIVE for a foreign key, on both tables; ACCESS EXCLUSIVE for a check), so writes wait for the whole scan. With `NOT VALID` the constraint is enforced for new rows at once, and `VALIDATE CONSTRAINT` later scans under a lock that lets reads and writes continue.",
        example: "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);",
        instead: "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk;",
    },
};

impl Rule for ConstraintWithoutNotValid {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, stmt: &StmtRef<'_>, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let Some((table, alter)) = altered_existing_table(stmt, ctx) else { return };
        for cmd in alter_cmds(alter) {
            if let Some(col) = added_column(cmd) {
                // An inline REFERENCES cannot be NOT VALID: the new column is all NULL, but the
                // ALTER still locks both tables while PostgreSQL sets the constraint up.
                if let Some(fk) = column_constraints(col).find(|c| constr_type(c) == ConstrType::ConstrForeign) {
                    let target = fk.pktable.as_ref().map(|t| TableName::of(t).display()).unwrap_or_default();
                    out.push(lock_risk(
                        ctx,
                        &table,
                        Finding::new(format!(
                            "Adding column {} with an inline REFERENCES {target} creates a foreign key that cannot be NOT VALID, locking {} and {target} against writes.",
                            col.colname,
                            table.display()
                        ))
                        .help("Add the column without REFERENCES, then ADD CONSTRAINT ... FOREIGN KEY ... NOT VALID and VALIDATE it in a separate transaction."),
                    ));
                }
                continue;
            }
            if alter_type(cmd) != AlterTableType::AtAddConstraint {
                continue;
            }
            let Some(NodeEnum::Constraint(c)) = cmd.def.as_ref().and_then(|d| d.node.as_ref()) else { continue };
            let (kind, lock) = match constr_type(c) {
                ConstrType::ConstrForeign => ("foreign key", "SHARE ROW EXCLUSIVE, blocking writes"),
                ConstrType::ConstrCheck => ("check", "ACCESS EXCLUSIVE, blocking reads and writes"),
                ConstrType::ConstrNotnull => ("NOT NULL", "ACCESS EXCLUSIVE, blocking reads and writes"),
                _ => continue,
            };
            if c.skip_validation {
                continue;
            }
            let name = if c.conname.is_empty() { String::new() } else { format!(" {}", c.conname) };
            let help = if c.conname.is_empty() {
                "Add it with NOT VALID, then run ALTER TABLE ... VALIDATE CONSTRAINT in a separate transaction."
                    .to_string()
            } else {
                format!(
                    "Add it with NOT VALID, then run ALTER TABLE {} VALIDATE CONSTRAINT {} in a separate transaction.",
                    table.display(),
                    c.conname
                )
            };
            out.push(lock_risk(
                ctx,
                &table,
                Finding::new(format!(
                    "Adding {kind} constraint{name} validates every row of {} while holding {lock}.",
                    table.display()
                ))
                .help(help),
            ));
        }
    }
}
