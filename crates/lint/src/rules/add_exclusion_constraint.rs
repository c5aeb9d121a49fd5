//! Exclusion constraints added to an existing table: built and checked under ACCESS EXCLUSIVE.

use pg_query::protobuf::ConstrType;

use super::{Docs, Finding, Rule, RuleInfo, StmtRef, altered_existing_table, lock_risk};
use crate::ast::{added_constraint, alter_cmds, constr_type};
use crate::context::Ctx;
use crate::diagnostic::Severity;

pub struct AddExclusionConstraint;

static INFO: RuleInfo = RuleInfo {
    code: "add-exclusion-constraint",
    severity: Severity::Error,
    summary: "An exclusion constraint on an existing table is built under a lock that blocks reads and writes.",
    help: "Add it while the table is empty or in a maintenance window; there is no NOT VALID or concurrent form.",
    docs: Docs {
        what: "Flags `ALTER TABLE ... ADD CONSTRAINT ... EXCLUDE` on a table that exists before the migration.",
        why: "PostgreSQL builds the constraint's index and checks every row while holding an ACCESS EXCLUSIVE lock: all reads and writes of the table wait until it finishes. Unlike foreign keys and checks, exclusion constraints cannot be added NOT VALID, and their index cannot be built concurrently and attached.",
        example: "ALTER TABLE reservations ADD CONSTRAINT no_overlap EXCLUDE USING gist (during WITH &&);",
        instead: "-- Create the table with the constraint, or add it in a maintenance window:\nCREATE TABLE reservations (during tstzrange, EXCLUDE USING gist (during WITH &&));",
    },
};

impl Rule for AddExclusionConstraint {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, stmt: &StmtRef<'_>, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let Some((table, alter)) = altered_existing_table(stmt, ctx) else { return };
        for c in alter_cmds(alter).filter_map(added_constraint) {
            if constr_type(c) == ConstrType::ConstrExclusion {
                out.push(lock_risk(
                    ctx,
                    &table,
                    Finding::new(format!(
                        "Adding an exclusion constraint to {} checks every row while blocking reads and writes.",
                        table.display()
                    )),
                ));
            }
        }
    }
}
