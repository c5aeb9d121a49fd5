//! `DROP DATABASE` in a migration.

use pg_query::NodeEnum;

use super::{Docs, Finding, Rule, RuleInfo, StmtRef};
use crate::context::Ctx;
use crate::diagnostic::Severity;

pub struct DropDatabase;

static INFO: RuleInfo = RuleInfo {
    code: "drop-database",
    severity: Severity::Error,
    summary: "DROP DATABASE irrecoverably deletes a whole database.",
    help: "Do not drop databases from migrations; do it by hand, after taking a backup.",
    docs: Docs {
        what: "Flags `DROP DATABASE`, with or without `IF EXISTS`.",
        why: "Every table, row and object in the database is deleted at once, with no way back but a backup. A migration that runs against the wrong connection, or is replayed, destroys production data.",
        example: "DROP DATABASE IF EXISTS analytics;",
        instead: "-- nothing in the migration: drop the database by hand, after a backup\nSELECT 1;",
    },
};

impl Rule for DropDatabase {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, stmt: &StmtRef<'_>, _ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let NodeEnum::DropdbStmt(drop) = stmt.node else { return };
        out.push(Finding::new(format!("DROP DATABASE {} irrecoverably deletes a whole database.", drop.dbname)));
    }
}
