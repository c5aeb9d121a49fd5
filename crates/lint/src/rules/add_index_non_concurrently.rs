//! `CREATE INDEX` without `CONCURRENTLY` on a table that already holds data.

use pg_query::NodeEnum;

use super::{Docs, Finding, Rule, RuleInfo, StmtRef, lock_risk};
use crate::ast::TableName;
use crate::context::Ctx;
use crate::diagnostic::Severity;

pub struct AddIndexNonConcurrently;

static INFO: RuleInfo = RuleInfo {
    code: "add-index-non-concurrently",
    severity: Severity::Error,
    summary: "An index built without CONCURRENTLY blocks writes to the table while it builds.",
    help: "Use CREATE INDEX CONCURRENTLY in a migration that runs outside a transaction block.",
    docs: Docs {
        what: "Flags `CREATE INDEX` (and `CREATE UNIQUE INDEX`) without `CONCURRENTLY` on a table that exists before the migration. Tables created earlier in the same history are new and empty, so they are not flagged.",
        why: "A plain `CREATE INDEX` holds a SHARE lock on the table for the whole build: every INSERT, UPDATE and DELETE waits, for minutes on a large table. `CONCURRENTLY` builds the index while writes continue (SHARE UPDATE EXCLUSIVE).",
        example: "CREATE INDEX users_email_idx ON users (email);",
        instead: "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);",
    },
};

impl Rule for AddIndexNonConcurrently {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, stmt: &StmtRef<'_>, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let NodeEnum::IndexStmt(index) = stmt.node else { return };
        let Some(table) = index.relation.as_ref().map(TableName::of) else { return };
        if index.concurrent || ctx.is_new_table(&table) {
            return;
        }
        let name = if index.idxname.is_empty() { "an index".to_string() } else { format!("index {}", index.idxname) };
        let mut finding = Finding::new(format!(
            "Building {name} on {} without CONCURRENTLY blocks writes to {} (SHARE lock) for the whole build.",
            table.display(),
            table.display()
        ));
        if is_partitioned(ctx, &table) {
            finding = finding.help(
                "CONCURRENTLY is not supported on a partitioned table: create the index ON ONLY the parent, build it CONCURRENTLY on each partition, and ATTACH PARTITION each one to it.",
            );
        }
        out.push(lock_risk(ctx, &table, finding));
    }
}

/// The live database says the table is partitioned.
fn is_partitioned(ctx: &Ctx<'_>, table: &TableName) -> bool {
    let Some(db) = ctx.database else { return false };
    let key = table.qual_name();
    db.tables.get(&key).is_some_and(|t| t.kind == cutover_schema::TableKind::Partitioned)
}
