//! New names that break the naming conventions the schema follows (or cutover.toml sets).

use pg_query::NodeEnum;
use pg_query::protobuf::{ConstrType, ObjectType};

use super::{Docs, Finding, Rule, RuleInfo, StmtRef};
use crate::ast::{WrittenConstraint, alter_constraints, create_columns, create_constraints, index_columns, words};
use crate::context::Ctx;
use crate::diagnostic::Severity;
use crate::naming::{Case, Convention, Kind, Pattern, number_of, with_number};

pub struct NamingConvention;

static INFO: RuleInfo = RuleInfo {
    code: "naming-convention",
    severity: Severity::Warning,
    summary: "A new name breaks the naming convention the existing schema follows.",
    help: "Name it like the rest of the schema.",
    docs: Docs {
        what: "Checks the names a migration creates (tables, columns, indexes, primary keys, foreign keys, unique and check constraints, and the new names of renames) against the conventions the live database already follows: the case of table and column names (snake_case, camelCase, PascalCase), plural or singular table names, and the name patterns of indexes and constraints (PostgreSQL's `{table}_{columns}_idx`, `{table}_pkey`, `{table}_{columns}_fkey`, `{table}_{columns}_key`, `{table}_{column}_check`, or prefixes such as `idx_`, `ix_`, `index_..._on_`, `pk_`, `fk_`, `uq_`, `uk_`, `ck_`, `chk_`). A convention counts when at least 4 names show it and 90% (case) or 80% (the others) follow it. A column added to a table the database has is checked against that table's own columns first. An unnamed constraint or index is checked under the name PostgreSQL will give it. `[lint.naming]` in cutover.toml sets or turns off each convention; without `--database` only the configured ones are checked.",
        why: "Names are the interface of a schema: people, ORMs and scripts guess them from the ones they know. A table called `OrderItem` beside `orders` and `customers` has to be quoted in every query and is written wrongly half the time; an index named in another pattern is missed by the runbooks and tools that find indexes by name; a constraint left to PostgreSQL's default name cannot be referred to by the name the team's convention predicts. Renaming later is a migration of its own.",
        example: "-- the schema has orders, customers, order_items; indexes named idx_<table>_<columns>\nCREATE TABLE OrderNote (id bigint PRIMARY KEY, order_id bigint NOT NULL);\nCREATE INDEX order_note_order_id ON OrderNote (order_id);",
        instead: "CREATE TABLE order_notes (id bigint PRIMARY KEY, order_id bigint NOT NULL);\nCREATE INDEX idx_order_notes_order_id ON order_notes (order_id);",
    },
};

impl Rule for NamingConvention {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, stmt: &StmtRef<'_>, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        match stmt.node {
            NodeEnum::CreateStmt(create) => {
                let Some(rv) = &create.relation else { return };
                let exists = create.if_not_exists && ctx.table_exists(&crate::ast::TableName::of(rv)) == Some(true);
                if rv.relpersistence == "t" || create.partbound.is_some() || exists {
                    return;
                }
                table_name(ctx, &rv.relname, out);
                for col in create_columns(create) {
                    column_name(ctx, None, &col.colname, out);
                }
                for c in create_constraints(create) {
                    constraint_name(ctx, &rv.relname, &c, out);
                }
            }
            NodeEnum::AlterTableStmt(alter) => {
                let Some(rv) = &alter.relation else { return };
                let table = crate::ast::TableName::of(rv);
                for cmd in crate::ast::alter_cmds(alter) {
                    if let Some(col) = crate::ast::added_column(cmd) {
                        column_name(ctx, Some(&table), &col.colname, out);
                    }
                }
                for c in alter_constraints(alter) {
                    constraint_name(ctx, &rv.relname, &c, out);
                }
            }
            NodeEnum::IndexStmt(index) => {
                let Some(rv) = &index.relation else { return };
                let columns = index_columns(index);
                let explicit = (!index.idxname.is_empty()).then_some(index.idxname.as_str());
                object_name(ctx, Kind::Index, &rv.relname, &columns, explicit, "index", out);
            }
            NodeEnum::RenameStmt(rename) => match ObjectType::try_from(rename.rename_type) {
                Ok(ObjectType::ObjectTable) => table_name(ctx, &rename.newname, out),
                Ok(ObjectType::ObjectColumn) => {
                    let table = rename.relation.as_ref().map(crate::ast::TableName::of);
                    column_name(ctx, table.as_ref(), &rename.newname, out)
                }
                Ok(ObjectType::ObjectIndex) => {
                    if let Some(convention) = &ctx.naming.index
                        && !convention.value.fits(&rename.newname)
                    {
                        out.push(pattern_finding(&rename.newname, "index", Kind::Index, convention, None));
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }
}

fn describe(cases: &[Case]) -> String {
    cases.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(" or ")
}

/// `name` in `case`, from its words.
fn in_case(name: &str, case: Case) -> String {
    let words = words(name);
    let capital = |w: &str| {
        let mut chars = w.chars();
        chars.next().map(|c| c.to_uppercase().chain(chars).collect::<String>()).unwrap_or_default()
    };
    match case {
        Case::Snake => words.join("_"),
        Case::Camel => words.iter().enumerate().map(|(i, w)| if i == 0 { w.clone() } else { capital(w) }).collect(),
        Case::Pascal => words.iter().map(|w| capital(w)).collect(),
    }
}

fn table_name(ctx: &Ctx<'_>, name: &str, out: &mut Vec<Finding>) {
    let mut suggestion = name.to_string();
    let mut problems = Vec::new();
    let mut evidence = Vec::new();
    if let Some(Convention { value: cases, evidence: why }) = &ctx.naming.table_case
        && !cases.iter().any(|c| c.fits(name))
    {
        problems.push(format!("is not {}", describe(cases)));
        evidence.push(format!("table names in {} ({why})", describe(cases)));
        suggestion = in_case(&suggestion, cases[0]);
    }
    if let Some(Convention { value: number, evidence: why }) = &ctx.naming.tables
        && let Some(found) = number_of(name)
        && found != *number
    {
        problems.push(format!("is {}", found.as_str()));
        evidence.push(format!("{} table names ({why})", number.as_str()));
        suggestion = with_number(&suggestion, *number);
    }
    if problems.is_empty() {
        return;
    }
    out.push(
        Finding::new(format!(
            "Table name {name} {}; this schema uses {}.",
            problems.join(" and "),
            evidence.join(" and ")
        ))
        .help(format!("Name it {suggestion}.")),
    );
}

/// A column name against the case of its table's other columns (a column added to a table the
/// database has, when the case is detected), else the schema's.
fn column_name(ctx: &Ctx<'_>, table: Option<&crate::ast::TableName>, name: &str, out: &mut Vec<Finding>) {
    let own = match (table, ctx.database) {
        (Some(t), Some(db)) if ctx.naming.column_case_per_table => crate::naming::table_column_case(db, &t.qual_name()),
        _ => None,
    };
    let Some(Convention { value: cases, evidence }) = own.as_ref().or(ctx.naming.column_case.as_ref()) else {
        return;
    };
    if !cases.iter().any(|c| c.fits(name)) {
        let whose =
            if own.is_some() { "this table writes its column names" } else { "this schema writes column names" };
        out.push(
            Finding::new(format!(
                "Column name {name} is not {}; {whose} in {} ({evidence}).",
                describe(cases),
                describe(cases)
            ))
            .help(format!("Name it {}.", in_case(name, cases[0]))),
        );
    }
}

fn constraint_name(ctx: &Ctx<'_>, table: &str, c: &WrittenConstraint<'_>, out: &mut Vec<Finding>) {
    let (kind, noun) = match c.kind() {
        ConstrType::ConstrPrimary => (Kind::PrimaryKey, "primary key"),
        ConstrType::ConstrForeign => (Kind::ForeignKey, "foreign key"),
        ConstrType::ConstrUnique => (Kind::Unique, "unique constraint"),
        ConstrType::ConstrCheck => (Kind::Check, "check constraint"),
        _ => return,
    };
    // `USING INDEX` takes the index's name, checked where the index was created.
    if !c.constraint.indexname.is_empty() && c.constraint.conname.is_empty() {
        return;
    }
    // PostgreSQL names an unnamed table CHECK after a column of its expression; not guessed.
    if kind == Kind::Check && c.columns.is_empty() && c.constraint.conname.is_empty() {
        return;
    }
    let explicit = (!c.constraint.conname.is_empty()).then_some(c.constraint.conname.as_str());
    object_name(ctx, kind, table, &c.columns, explicit, noun, out);
}

/// An index or constraint name (`explicit`, else the one PostgreSQL will give it) against
/// the convention for its kind.
fn object_name(
    ctx: &Ctx<'_>,
    kind: Kind,
    table: &str,
    columns: &[String],
    explicit: Option<&str>,
    noun: &str,
    out: &mut Vec<Finding>,
) {
    let Some(convention) = ctx.naming.pattern(kind) else { return };
    if kind == Kind::Index && explicit.is_none() && columns.is_empty() {
        return; // an expression index: PostgreSQL's name for it is not guessed
    }
    let name = explicit.map_or_else(|| kind.postgres_default().render(table, columns), String::from);
    if convention.value.fits(&name) {
        return;
    }
    let expected = convention.value.render(table, columns);
    out.push(pattern_finding(&name, noun, kind, convention, Some((explicit.is_none(), &expected))));
}

fn pattern_finding(
    name: &str,
    noun: &str,
    kind: Kind,
    convention: &Convention<Pattern>,
    expected: Option<(bool, &str)>,
) -> Finding {
    let pattern = &convention.value.0;
    let evidence = &convention.evidence;
    let (message, help) = match expected {
        Some((true, expected)) => (
            format!(
                "This unnamed {noun} gets PostgreSQL's name {name}, which does not follow this schema's pattern for {}, {pattern} ({evidence}).",
                kind.noun()
            ),
            format!("Name it {expected} explicitly."),
        ),
        Some((false, expected)) => (
            format!(
                "The {noun} name {name} does not follow this schema's pattern for {}, {pattern} ({evidence}).",
                kind.noun()
            ),
            format!("Name it {expected}."),
        ),
        None => (
            format!(
                "The {noun} name {name} does not follow this schema's pattern for {}, {pattern} ({evidence}).",
                kind.noun()
            ),
            format!("Name it after the pattern {pattern}."),
        ),
    };
    Finding::new(message).help(help)
}
