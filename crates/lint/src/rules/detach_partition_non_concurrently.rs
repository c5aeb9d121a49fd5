//! `ALTER TABLE ... DETACH PARTITION` without `CONCURRENTLY`.

use pg_query::NodeEnum;
use pg_query::protobuf::AlterTableType;

use super::{Docs, Finding, Rule, RuleInfo, StmtRef, altered_existing_table, lock_risk};
use crate::ast::{TableName, alter_cmds, alter_type};
use crate::context::Ctx;
use crate::diagnostic::Severity;

pub struct DetachPartitionNonConcurrently;

static INFO: RuleInfo = RuleInfo {
    code: "detach-partition-non-concurrently",
    severity: Severity::Error,
    summary: "DETACH PARTITION without CONCURRENTLY locks the whole partitioned table against reads and writes.",
    help: "Use DETACH PARTITION ... CONCURRENTLY (PostgreSQL 14+) outside a transaction block.",
    docs: Docs {
        what: "Flags `ALTER TABLE ... DETACH PARTITION` without `CONCURRENTLY` (not `FINALIZE`) on a table that exists before the migration. On PostgreSQL before 14, where no concurrent form exists, the finding is a warning.",
        why: "A plain DETACH PARTITION takes an ACCESS EXCLUSIVE lock on the partitioned (parent) table: it waits behind every running query on any partition and then blocks all reads and writes of the whole table. `DETACH PARTITION ... CONCURRENTLY` (PostgreSQL 14+) only takes SHARE UPDATE EXCLUSIVE on the parent.",
        example: "ALTER TABLE events DETACH PARTITION events_2023;",
        instead: "ALTER TABLE events DETACH PARTITION events_2023 CONCURRENTLY;",
    },
};

impl Rule for DetachPartitionNonConcurrently {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, stmt: &StmtRef<'_>, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let Some((table, alter)) = altered_existing_table(stmt, ctx) else { return };
        for cmd in alter_cmds(alter) {
            if alter_type(cmd) != AlterTableType::AtDetachPartition {
                continue;
            }
            let Some(NodeEnum::PartitionCmd(p)) = cmd.def.as_ref().and_then(|d| d.node.as_ref()) else { continue };
            if p.concurrent {
                continue;
            }
            let part = p.name.as_ref().map(|rv| TableName::of(rv).display()).unwrap_or_default();
            let mut finding = Finding::new(format!(
                "DETACH PARTITION {part} takes ACCESS EXCLUSIVE on {}, blocking reads and writes on the whole partitioned table.",
                table.display()
            ));
            if ctx.pg_version < 14 {
                finding = finding
                    .help("PostgreSQL before 14 has no concurrent form: run it when the table is quiet, with a short lock_timeout.")
                    .severity(Severity::Warning);
                out.push(finding);
            } else {
                out.push(lock_risk(ctx, &table, finding));
            }
        }
    }
}
