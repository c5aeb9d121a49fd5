//! UNIQUE / PRIMARY KEY constraints added to an existing table without `USING INDEX`.

use pg_query::protobuf::ConstrType;

use super::{Docs, Finding, Rule, RuleInfo, StmtRef, altered_existing_table, lock_risk};
use crate::ast::{added_column, added_constraint, alter_cmds, column_constraints, constr_type};
use crate::context::Ctx;
use crate::diagnostic::Severity;

pub struct UniqueConstraintWithoutIndex;

static INFO: RuleInfo = RuleInfo {
    code: "unique-constraint-without-index",
    severity: Severity::Error,
    summary: "A UNIQUE or PRIMARY KEY constraint builds its index under an ACCESS EXCLUSIVE lock.",
    help: "Build the index with CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT ... UNIQUE (or PRIMARY KEY) USING INDEX.",
    docs: Docs {
        what: "Flags `ALTER TABLE ... ADD [CONSTRAINT name] UNIQUE (...)` or `PRIMARY KEY (...)` without `USING INDEX`, and `ADD COLUMN ... UNIQUE`, on a table that exists before the migration.",
        why: "Adding the constraint builds its unique index while `ALTER TABLE` holds an ACCESS EXCLUSIVE lock: every read and write of the table waits for the whole index build. Building the index first with `CREATE UNIQUE INDEX CONCURRENTLY` and then attaching it with `USING INDEX` takes the strong lock only for a catalog update.",
        example: "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);",
        instead: "CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email);\nALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key;",
    },
};

impl Rule for UniqueConstraintWithoutIndex {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, stmt: &StmtRef<'_>, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let Some((table, alter)) = altered_existing_table(stmt, ctx) else { return };
        for cmd in alter_cmds(alter) {
            let (kind, name) = if let Some(c) = added_constraint(cmd) {
                let kind = match constr_type(c) {
                    ConstrType::ConstrUnique => "UNIQUE",
                    ConstrType::ConstrPrimary => "PRIMARY KEY",
                    _ => continue,
                };
                if !c.indexname.is_empty() {
                    continue;
                }
                (kind, c.conname.clone())
            } else if let Some(col) = added_column(cmd) {
                // An inline PRIMARY KEY belongs to serial-primary-key-on-existing-table.
                let Some(c) = column_constraints(col)
                    .find(|c| constr_type(c) == ConstrType::ConstrUnique && c.indexname.is_empty())
                else {
                    continue;
                };
                let name =
                    if c.conname.is_empty() { format!("on new column {}", col.colname) } else { c.conname.clone() };
                ("UNIQUE", name)
            } else {
                continue;
            };
            let name = if name.is_empty() { String::new() } else { format!(" {name}") };
            let help = format!(
                "Build the index with CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT ... {kind} USING INDEX."
            );
            out.push(lock_risk(
                ctx,
                &table,
                Finding::new(format!(
                    "Adding {kind} constraint{name} builds its index while holding ACCESS EXCLUSIVE on {}, blocking reads and writes.",
                    table.display()
                ))
                .help(help),
            ));
        }
    }
}
