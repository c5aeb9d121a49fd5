//! Table names without a schema in DDL (opt-in style rule).

use pg_query::NodeEnum;
use pg_query::protobuf::{ObjectType, RangeVar};

use super::{Docs, Finding, Rule, RuleInfo, StmtRef};
use crate::ast::string;
use crate::context::Ctx;
use crate::diagnostic::Severity;

pub struct UnqualifiedTable;

static INFO: RuleInfo = RuleInfo {
    code: "unqualified-table",
    severity: Severity::Warning,
    summary: "A table name without a schema resolves through search_path, which can differ between environments.",
    help: "Qualify the name with its schema (for example public.name).",
    docs: Docs {
        what: "Flags `CREATE TABLE`, `CREATE TABLE ... AS`, `ALTER TABLE` and `DROP TABLE` whose table name has no schema. Temporary tables (which live in their own schema) are not flagged. A style rule for teams that use several schemas.",
        why: "An unqualified name means whatever schema comes first in the session's `search_path`: a migration run by a different role, tool or connection string can create or alter the table in the wrong schema, or alter a same-named table in another one.",
        example: "ALTER TABLE users ADD COLUMN nickname text;",
        instead: "ALTER TABLE public.users ADD COLUMN nickname text;",
    },
};

impl Rule for UnqualifiedTable {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, stmt: &StmtRef<'_>, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let mut names: Vec<String> = Vec::new();
        match stmt.node {
            NodeEnum::CreateStmt(s) => {
                names.extend(s.relation.as_ref().filter(|rv| unqualified(rv)).map(|rv| rv.relname.clone()))
            }
            NodeEnum::CreateTableAsStmt(s) if ObjectType::try_from(s.objtype) == Ok(ObjectType::ObjectTable) => names
                .extend(
                    s.into
                        .as_ref()
                        .and_then(|i| i.rel.as_ref())
                        .filter(|rv| unqualified(rv))
                        .map(|rv| rv.relname.clone()),
                ),
            NodeEnum::AlterTableStmt(s) if ObjectType::try_from(s.objtype) == Ok(ObjectType::ObjectTable) => names
                .extend(
                    s.relation
                        .as_ref()
                        .filter(|rv| unqualified(rv) && !temp_here(ctx, &rv.relname))
                        .map(|rv| rv.relname.clone()),
                ),
            NodeEnum::DropStmt(s) if ObjectType::try_from(s.remove_type) == Ok(ObjectType::ObjectTable) => {
                for object in &s.objects {
                    let Some(NodeEnum::List(list)) = object.node.as_ref() else { continue };
                    if let [only] = list.items.as_slice()
                        && let Some(name) = string(only)
                        && !temp_here(ctx, name)
                    {
                        names.push(name.to_string());
                    }
                }
            }
            _ => {}
        }
        for name in names {
            out.push(
                Finding::new(format!(
                    "Table {name} is not schema-qualified, so it resolves through search_path at run time."
                ))
                .help(format!("Write it with its schema, for example public.{name}.")),
            );
        }
    }
}

/// No schema written, and not a temporary table (those live in their own schema).
fn unqualified(rv: &RangeVar) -> bool {
    rv.schemaname.is_empty() && rv.relpersistence != "t"
}

/// A temporary table of that name was created earlier in this file.
fn temp_here(ctx: &Ctx<'_>, name: &str) -> bool {
    ctx.previous.iter().any(|n| {
        let rv = match n {
            NodeEnum::CreateStmt(s) => s.relation.as_ref(),
            NodeEnum::CreateTableAsStmt(s) => s.into.as_ref().and_then(|i| i.rel.as_ref()),
            _ => None,
        };
        rv.is_some_and(|rv| rv.relpersistence == "t" && rv.relname == name)
    })
}
