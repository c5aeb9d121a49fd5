//! Free-text columns for a concept the schema already keeps in an enum or a lookup table.

use pg_query::NodeEnum;
use pg_query::protobuf::ConstrType;

use super::{Docs, Finding, Rule, RuleInfo, StmtRef};
use crate::ast::{TableName, alter_constraints, column_types, create_constraints, names, type_name};
use crate::context::Ctx;
use crate::diagnostic::Severity;
use crate::naming::{Number, with_number};

pub struct FreeTextInsteadOfLookup;

static INFO: RuleInfo = RuleInfo {
    code: "free-text-instead-of-lookup",
    severity: Severity::Warning,
    summary: "A free-text column for a concept the schema already keeps in an enum type or a lookup table.",
    help: "Use the existing enum type, or a foreign key to the lookup table.",
    docs: Docs {
        what: "Flags a `text`, `varchar`, `char` or `citext` column added (CREATE TABLE, ADD COLUMN, ALTER COLUMN ... TYPE) under a name the schema already models with an enum type or a lookup table: another column of that name has an enum type; an enum type is named after it (`status`, `order_status` for `orders.status`); or a table named after it (`countries` for `country`) is referenced by foreign keys. The schema is the live database (`--database`) and the enums and tables created earlier in the file; without them nothing is flagged. A column that is itself a foreign key is not flagged.",
        why: "Free text accepts any value: typos (`shipped`, `Shipped`, `shiped`) and values the rest of the schema does not know end up in the table, and every query has to guess the spelling. The existing enum or lookup table is where the allowed values are kept; a second, unconstrained copy of the same concept drifts from it. Adding a constraint later means cleaning the data and a validation scan.",
        example: "-- the schema has: CREATE TYPE order_status AS ENUM ('pending', 'paid', 'shipped');\nALTER TABLE returns ADD COLUMN status text NOT NULL DEFAULT 'pending';",
        instead: "CREATE TYPE return_status AS ENUM ('pending', 'received', 'refunded');\nALTER TABLE returns ADD COLUMN status return_status NOT NULL DEFAULT 'pending';",
    },
};

impl Rule for FreeTextInsteadOfLookup {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, stmt: &StmtRef<'_>, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let foreign: Vec<String> = match stmt.node {
            NodeEnum::CreateStmt(s) => foreign_columns(create_constraints(s)),
            NodeEnum::AlterTableStmt(s) => foreign_columns(alter_constraints(s)),
            _ => return,
        };
        for col in column_types(stmt.node) {
            if !matches!(type_name(col.type_name).as_str(), "text" | "varchar" | "bpchar" | "citext")
                || foreign.iter().any(|f| f == col.column)
            {
                continue;
            }
            let table = col.table.map(TableName::of);
            let Some(evidence) = evidence(ctx, table.as_ref(), col.column) else { continue };
            let (what, help) = match &evidence {
                Evidence::Enum { name, .. } => (
                    format!("the enum type {name}"),
                    format!(
                        "Use the enum type {name} (or a new enum type for this table's values) instead of free text."
                    ),
                ),
                Evidence::Lookup { table, .. } => (
                    format!("the lookup table {table}"),
                    format!(
                        "Reference {table} with a foreign key (e.g. {}_id) instead of copying its values as free text.",
                        col.column
                    ),
                ),
            };
            let reason = match &evidence {
                Evidence::Enum { reason, .. } | Evidence::Lookup { reason, .. } => reason,
            };
            out.push(
                Finding::new(format!(
                    "Column {} is free text ({}), but this schema keeps {} in {what} ({reason}).",
                    col.display(),
                    col.type_display().replace("bpchar", "char"),
                    col.column
                ))
                .help(help),
            );
        }
    }
}

enum Evidence {
    Enum { name: String, reason: String },
    Lookup { table: String, reason: String },
}

fn foreign_columns(constraints: Vec<crate::ast::WrittenConstraint<'_>>) -> Vec<String> {
    constraints.into_iter().filter(|c| c.kind() == ConstrType::ConstrForeign).flat_map(|c| c.columns).collect()
}

/// What says the schema models `column` with an enum or a lookup table, if anything does.
fn evidence(ctx: &Ctx<'_>, table: Option<&TableName>, column: &str) -> Option<Evidence> {
    let prefix = table.map(|t| with_number(&t.name, Number::Singular));
    let named_after = |name: &str| {
        name == column
            || name.strip_suffix(column).is_some_and(|rest| rest.ends_with('_'))
            || prefix.as_ref().is_some_and(|p| name == format!("{p}_{column}"))
    };
    let lookup_names = [column.to_string(), with_number(column, Number::Plural)];
    // Enums and tables created earlier in this file.
    for node in &ctx.previous {
        match node {
            NodeEnum::CreateEnumStmt(e) => {
                let name = names(&e.type_name);
                if let Some(last) = name.last()
                    && named_after(last)
                {
                    return Some(Evidence::Enum {
                        name: name.join("."),
                        reason: "created earlier in this migration".into(),
                    });
                }
            }
            NodeEnum::CreateStmt(s) => {
                if let Some(rv) = &s.relation
                    && lookup_names.contains(&rv.relname)
                    && Some(&TableName::of(rv)) != table
                {
                    let referenced = ctx.previous.iter().any(|n| references(n, &rv.relname));
                    if referenced {
                        return Some(Evidence::Lookup {
                            table: TableName::of(rv).display(),
                            reason: "created and referenced earlier in this migration".into(),
                        });
                    }
                }
            }
            _ => {}
        }
    }
    let db = ctx.database?;
    // Another column of that name with an enum type.
    for (tname, t) in &db.tables {
        if table.is_some_and(|own| own.qual_name() == *tname) {
            continue;
        }
        for c in t.columns.iter().filter(|c| c.name == column) {
            let type_name = c.data_type.trim_end_matches("[]");
            let is_enum = db.types.iter().any(|(q, def)| {
                matches!(def.kind, cutover_schema::TypeKind::Enum { .. })
                    && (type_name == format!("{}.{}", q.schema, q.name) || type_name == q.name)
            });
            if is_enum {
                return Some(Evidence::Enum {
                    name: type_name.to_string(),
                    reason: format!("{}.{} is of that type", tname.name, c.name),
                });
            }
        }
    }
    for (q, def) in &db.types {
        if matches!(def.kind, cutover_schema::TypeKind::Enum { .. }) && named_after(&q.name) {
            return Some(Evidence::Enum { name: q.name.clone(), reason: "an enum type of the database".into() });
        }
    }
    // A table named after it that foreign keys reference.
    for (q, _) in db.tables.iter().filter(|(q, _)| lookup_names.contains(&q.name)) {
        let by = db.tables.iter().find_map(|(from, t)| {
            t.constraints
                .values()
                .find(|c| c.foreign_key.as_ref().is_some_and(|fk| fk.referenced_table == *q))
                .map(|c| format!("{}({}) references it", from.name, c.columns.join(", ")))
        });
        if let Some(reason) = by {
            return Some(Evidence::Lookup { table: q.name.clone(), reason });
        }
    }
    None
}

/// Whether a statement adds a foreign key to the table named `name`.
fn references(node: &NodeEnum, name: &str) -> bool {
    let constraints = match node {
        NodeEnum::CreateStmt(s) => create_constraints(s),
        NodeEnum::AlterTableStmt(s) => alter_constraints(s),
        _ => return false,
    };
    constraints.iter().any(|c| {
        c.kind() == ConstrType::ConstrForeign && c.constraint.pktable.as_ref().is_some_and(|rv| rv.relname == name)
    })
}
