//! `DROP INDEX` without `CONCURRENTLY`.

use pg_query::NodeEnum;
use pg_query::protobuf::ObjectType;

use super::{Docs, Finding, Rule, RuleInfo, StmtRef};
use crate::ast::string;
use crate::context::Ctx;
use crate::diagnostic::Severity;

pub struct DropIndexNonConcurrently;

static INFO: RuleInfo = RuleInfo {
    code: "drop-index-non-concurrently",
    severity: Severity::Error,
    summary: "DROP INDEX without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on the table.",
    help: "Use DROP INDEX CONCURRENTLY outside a transaction block.",
    docs: Docs {
        what: "Flags `DROP INDEX` without `CONCURRENTLY` (with or without `IF EXISTS`, once per statement), unless every index it drops was created earlier in the same history on a table created there too.",
        why: "A plain `DROP INDEX` takes an ACCESS EXCLUSIVE lock on the index's table: it waits behind every running query on the table and then blocks all reads and writes until it is done.",
        example: "DROP INDEX users_email_idx;",
        instead: "DROP INDEX CONCURRENTLY users_email_idx;",
    },
};

impl Rule for DropIndexNonConcurrently {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, stmt: &StmtRef<'_>, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let NodeEnum::DropStmt(drop) = stmt.node else { return };
        if drop.remove_type != ObjectType::ObjectIndex as i32 || drop.concurrent {
            return;
        }
        let names: Vec<String> = drop
            .objects
            .iter()
            .filter_map(|o| match o.node.as_ref()? {
                NodeEnum::List(l) => Some(l.items.iter().filter_map(string).collect::<Vec<_>>().join(".")),
                _ => None,
            })
            .collect();
        let all_new = !names.is_empty()
            && names.iter().all(|n| {
                let index = n.rsplit('.').next().unwrap_or(n);
                ctx.created_index_table(index).is_some_and(|t| ctx.is_new_table(&t))
            });
        if all_new {
            return;
        }
        out.push(Finding::new(format!(
            "DROP INDEX {} takes an ACCESS EXCLUSIVE lock on its table, blocking reads and writes until it can finish.",
            names.join(", ")
        )));
    }
}
