//! `CLUSTER` and `VACUUM FULL` on PostgreSQL 19+, which has `REPACK`.

use pg_query::NodeEnum;

use super::{Docs, Finding, Rule, RuleInfo, StmtRef};
use crate::context::Ctx;
use crate::diagnostic::Severity;

pub struct PreferRepack;

static INFO: RuleInfo = RuleInfo {
    code: "prefer-repack",
    severity: Severity::Warning,
    summary: "CLUSTER and VACUUM FULL hold ACCESS EXCLUSIVE for the whole rewrite; PostgreSQL 19 has REPACK.",
    help: "Use REPACK (CONCURRENTLY) instead.",
    docs: Docs {
        what: "On PostgreSQL 19 and later, flags `CLUSTER` in any form and `VACUUM FULL` / `VACUUM (FULL)` / `VACUUM (FULL TRUE)`. Plain `VACUUM`, `ANALYZE`, `FREEZE` and `(FULL FALSE)` are fine, and nothing is flagged on older versions, which have no alternative built in.",
        why: "Both rewrite the whole table and its indexes while holding an ACCESS EXCLUSIVE lock: every read and write of the table waits for the full rewrite. PostgreSQL 19's `REPACK` does the same job, and `REPACK (CONCURRENTLY)` does it while the table stays readable and writable.",
        example: "VACUUM FULL orders;",
        instead: "REPACK (CONCURRENTLY) orders;",
    },
};

impl Rule for PreferRepack {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, stmt: &StmtRef<'_>, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        if ctx.pg_version < 19 {
            return;
        }
        let what = match stmt.node {
            NodeEnum::ClusterStmt(_) => "CLUSTER",
            NodeEnum::VacuumStmt(v) if v.is_vacuumcmd && v.options.iter().any(is_full) => "VACUUM FULL",
            _ => return,
        };
        out.push(Finding::new(format!(
            "{what} holds ACCESS EXCLUSIVE on the table for the whole rewrite; PostgreSQL 19 has REPACK for this."
        )));
    }
}

/// `FULL`, `FULL TRUE`, `FULL 1`, `FULL on` (not `FULL FALSE`).
fn is_full(option: &pg_query::protobuf::Node) -> bool {
    let Some(NodeEnum::DefElem(d)) = option.node.as_ref() else { return false };
    if d.defname != "full" {
        return false;
    }
    let Some(arg) = d.arg.as_ref().and_then(|a| a.node.as_ref()) else { return true };
    use pg_query::protobuf::a_const::Val;
    match arg {
        NodeEnum::AConst(c) => match c.val.as_ref() {
            Some(Val::Boolval(b)) => b.boolval,
            Some(Val::Ival(i)) => i.ival != 0,
            Some(Val::Sval(s)) => !matches!(s.sval.to_ascii_lowercase().as_str(), "false" | "off" | "0" | "no"),
            _ => true,
        },
        NodeEnum::String(s) => !matches!(s.sval.to_ascii_lowercase().as_str(), "false" | "off" | "0" | "no"),
        _ => true,
    }
}
