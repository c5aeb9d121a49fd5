//! `TRUNCATE ... CASCADE`.

use pg_query::NodeEnum;
use pg_query::protobuf::DropBehavior;

use super::{Docs, Finding, Rule, RuleInfo, StmtRef};
use crate::ast::TableName;
use crate::context::Ctx;
use crate::diagnostic::Severity;

pub struct TruncateCascade;

static INFO: RuleInfo = RuleInfo {
    code: "truncate-cascade",
    severity: Severity::Error,
    summary: "TRUNCATE ... CASCADE also empties every table that references the truncated ones.",
    help: "Truncate the referencing tables explicitly by name.",
    docs: Docs {
        what: "Flags `TRUNCATE ... CASCADE`.",
        why: "CASCADE truncates every table with a foreign key to the named tables, and the tables referencing those, recursively: a migration meant to empty a staging table can delete production data in tables the author never named. The set depends on the foreign keys at run time, so review cannot see it.",
        example: "TRUNCATE imports CASCADE;",
        instead: "TRUNCATE import_rows, imports;",
    },
};

impl Rule for TruncateCascade {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, stmt: &StmtRef<'_>, _ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let NodeEnum::TruncateStmt(t) = stmt.node else { return };
        if t.behavior != DropBehavior::DropCascade as i32 {
            return;
        }
        let tables: Vec<String> = t
            .relations
            .iter()
            .filter_map(|n| match n.node.as_ref()? {
                NodeEnum::RangeVar(rv) => Some(TableName::of(rv).display()),
                _ => None,
            })
            .collect();
        out.push(Finding::new(format!(
            "TRUNCATE ... CASCADE also empties every table that references {} through foreign keys.",
            tables.join(", ")
        )));
    }
}
