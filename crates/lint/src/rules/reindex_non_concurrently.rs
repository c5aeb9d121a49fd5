//! `REINDEX` without `CONCURRENTLY`.

use pg_query::NodeEnum;
use pg_query::protobuf::{ReindexObjectType, a_const};

use super::{Docs, Finding, Rule, RuleInfo, StmtRef, lock_risk};
use crate::ast::{TableName, string};
use crate::context::Ctx;
use crate::diagnostic::Severity;

pub struct ReindexNonConcurrently;

static INFO: RuleInfo = RuleInfo {
    code: "reindex-non-concurrently",
    severity: Severity::Error,
    summary: "REINDEX without CONCURRENTLY blocks writes to the table (and reads through the index) while it rebuilds.",
    help: "Use REINDEX ... CONCURRENTLY (PostgreSQL 12+) outside a transaction block.",
    docs: Docs {
        what: "Flags `REINDEX TABLE`, `INDEX`, `SCHEMA` and `DATABASE` without `CONCURRENTLY` (or with `(CONCURRENTLY false)`). `REINDEX SYSTEM` cannot run concurrently and is not flagged, nor are indexes and tables created earlier in the same history. Before PostgreSQL 12, which has no concurrent form, the finding is a warning.",
        why: "A plain REINDEX holds a SHARE lock on the table, blocking every INSERT, UPDATE and DELETE, and an ACCESS EXCLUSIVE lock on each index it rebuilds, blocking the queries that would use it, for the whole rebuild. `REINDEX ... CONCURRENTLY` builds a new copy of the index while reads and writes continue.",
        example: "REINDEX INDEX users_email_idx;",
        instead: "REINDEX INDEX CONCURRENTLY users_email_idx;",
    },
};

impl Rule for ReindexNonConcurrently {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, stmt: &StmtRef<'_>, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let NodeEnum::ReindexStmt(r) = stmt.node else { return };
        if concurrently(r) {
            return;
        }
        let kind = ReindexObjectType::try_from(r.kind).unwrap_or(ReindexObjectType::Undefined);
        let (target, table) = match kind {
            ReindexObjectType::ReindexObjectTable => {
                let Some(table) = r.relation.as_ref().map(TableName::of) else { return };
                (format!("table {}", table.display()), Some(table))
            }
            ReindexObjectType::ReindexObjectIndex => {
                let Some(index) = r.relation.as_ref().map(TableName::of) else { return };
                let table = ctx.created_index_table(&index.name);
                (format!("the table of index {}", index.display()), table)
            }
            ReindexObjectType::ReindexObjectSchema => (format!("every table of schema {}", r.name), None),
            ReindexObjectType::ReindexObjectDatabase => ("every table of the database".to_string(), None),
            _ => return,
        };
        if table.as_ref().is_some_and(|t| ctx.is_new_table(t)) {
            return;
        }
        let finding = Finding::new(format!(
            "REINDEX without CONCURRENTLY locks {target} against writes (and the index against reads) while it rebuilds."
        ));
        if ctx.pg_version < 12 {
            out.push(
                finding
                    .help("PostgreSQL before 12 has no REINDEX CONCURRENTLY: build a new index CONCURRENTLY and drop the old one.")
                    .severity(Severity::Warning),
            );
        } else if kind == ReindexObjectType::ReindexObjectTable
            && let Some(table) = &table
        {
            out.push(lock_risk(ctx, table, finding));
        } else {
            out.push(finding);
        }
    }
}

/// `CONCURRENTLY` or `(CONCURRENTLY [true|on|1])`; `(CONCURRENTLY false)` is not.
fn concurrently(r: &pg_query::protobuf::ReindexStmt) -> bool {
    r.params.iter().any(|p| match p.node.as_ref() {
        Some(NodeEnum::DefElem(d)) if d.defname == "concurrently" => match d.arg.as_deref() {
            None => true,
            Some(arg) => match arg.node.as_ref() {
                Some(NodeEnum::Integer(i)) => i.ival != 0,
                Some(NodeEnum::Boolean(b)) => b.boolval,
                Some(NodeEnum::AConst(c)) => match c.val.as_ref() {
                    Some(a_const::Val::Ival(i)) => i.ival != 0,
                    Some(a_const::Val::Boolval(b)) => b.boolval,
                    Some(a_const::Val::Sval(s)) => truthy(&s.sval),
                    _ => true,
                },
                _ => string(arg).is_none_or(truthy),
            },
        },
        _ => false,
    })
}

fn truthy(s: &str) -> bool {
    !matches!(s.to_ascii_lowercase().as_str(), "false" | "off" | "0" | "no" | "f" | "n")
}
