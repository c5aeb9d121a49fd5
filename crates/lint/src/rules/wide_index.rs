//! Non-unique indexes on more than three columns.

use pg_query::NodeEnum;

use super::{Docs, Finding, Rule, RuleInfo, StmtRef};
use crate::ast::TableName;
use crate::context::Ctx;
use crate::diagnostic::Severity;

pub struct WideIndex;

static INFO: RuleInfo = RuleInfo {
    code: "wide-index",
    severity: Severity::Error,
    summary: "A non-unique index on more than three columns costs writes and space for little read benefit.",
    help: "Index the leading one to three columns that queries filter on; add INCLUDE columns only for index-only scans you have measured.",
    docs: Docs {
        what: "Flags `CREATE INDEX` of a non-unique index with more than three key columns.",
        why: "Every insert and update of an indexed column maintains the whole index; past the first few columns each extra key column makes the index larger and slower to maintain while rarely narrowing a search further (strong_migrations' best practice).",
        example: "CREATE INDEX CONCURRENTLY users_a_b_c_d_idx ON users (a, b, c, d);",
        instead: "CREATE INDEX CONCURRENTLY users_a_b_c_idx ON users (a, b, c);",
    },
};

impl Rule for WideIndex {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, stmt: &StmtRef<'_>, _ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let NodeEnum::IndexStmt(index) = stmt.node else { return };
        if index.unique || index.primary || index.index_params.len() <= 3 {
            return;
        }
        let table = index.relation.as_ref().map(TableName::of).map(|t| t.display()).unwrap_or_default();
        out.push(Finding::new(format!(
            "Index {} on {table} has {} key columns; more than three rarely helps reads and slows every write.",
            if index.idxname.is_empty() { "(unnamed)" } else { &index.idxname },
            index.index_params.len()
        )));
    }
}
