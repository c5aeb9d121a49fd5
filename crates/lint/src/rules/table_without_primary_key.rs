//! Tables created without a primary key.

use pg_query::NodeEnum;
use pg_query::protobuf::{ConstrType, CreateStmt};

use super::{Docs, Finding, Rule, RuleInfo, StmtRef};
use crate::ast::{TableName, alter_constraints, create_constraints};
use crate::context::Ctx;
use crate::diagnostic::Severity;

pub struct TableWithoutPrimaryKey;

static INFO: RuleInfo = RuleInfo {
    code: "table-without-primary-key",
    severity: Severity::Warning,
    summary: "A table without a primary key has rows nothing can address one by one.",
    help: "Add a primary key: a bigint identity column (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY), or PRIMARY KEY on the natural key.",
    docs: Docs {
        what: "Flags `CREATE TABLE` of a permanent table that declares no `PRIMARY KEY` (on a column or as a table constraint) and gets none from an `ALTER TABLE ... ADD PRIMARY KEY` later in the same file. Partitions (`PARTITION OF`, which take their parent's), temporary tables, tables copied with `LIKE` or `OF type`, and `CREATE TABLE IF NOT EXISTS` of a table the live database already has are not flagged.",
        why: "Without a primary key, duplicate rows cannot be told apart or removed one at a time, ORMs cannot update or delete a single row, logical replication cannot replicate UPDATE and DELETE (the table has no replica identity), and online tools (backfills that walk the table in key order, repacking, change data capture) fall back to slow or impossible paths. Adding a key later needs a unique index built on a large table and a check that no duplicates crept in.",
        example: "CREATE TABLE order_events (order_id bigint NOT NULL, kind text NOT NULL, created_at timestamptz NOT NULL);",
        instead: "CREATE TABLE order_events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, order_id bigint NOT NULL, kind text NOT NULL, created_at timestamptz NOT NULL);",
    },
};

impl Rule for TableWithoutPrimaryKey {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, _stmt: &StmtRef<'_>, _ctx: &Ctx<'_>, _out: &mut Vec<Finding>) {}

    /// At the end of the file, so a key added by a later `ALTER TABLE` counts.
    fn finish(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        for (node, span) in ctx.previous.iter().zip(&ctx.previous_spans) {
            let NodeEnum::CreateStmt(create) = node else { continue };
            let Some(rv) = &create.relation else { continue };
            if rv.relpersistence == "t" || create.partbound.is_some() || copies_a_table(create) {
                continue;
            }
            let table = TableName::of(rv);
            // `CREATE TABLE IF NOT EXISTS` of a table the database has does nothing.
            if create.if_not_exists && ctx.table_exists(&table) == Some(true) {
                continue;
            }
            let declared = create_constraints(create).iter().any(|c| c.kind() == ConstrType::ConstrPrimary);
            let added = ctx
                .alters_of(&table)
                .any(|alter| alter_constraints(alter).iter().any(|c| c.kind() == ConstrType::ConstrPrimary));
            if declared || added {
                continue;
            }
            let unique = create_constraints(create)
                .into_iter()
                .find(|c| c.kind() == ConstrType::ConstrUnique && !c.columns.is_empty());
            let mut finding = Finding::new(format!(
                "Table {} has no primary key, so its rows cannot be addressed one by one (single-row updates and deletes, logical replication, keyset backfills).",
                table.display()
            ));
            if let Some(unique) = unique {
                finding = finding.help(format!(
                    "Declare the unique key ({}) as PRIMARY KEY (its columns become NOT NULL), or add a bigint identity column as the primary key.",
                    unique.columns.join(", ")
                ));
            }
            finding.span = Some(*span);
            out.push(finding);
        }
    }
}

/// `CREATE TABLE ... (LIKE other ...)` or `OF type`: what it copies is not in the statement.
fn copies_a_table(create: &CreateStmt) -> bool {
    create.of_typename.is_some()
        || create.table_elts.iter().any(|n| matches!(n.node.as_ref(), Some(NodeEnum::TableLikeClause(_))))
}
