//! Foreign keys whose referencing columns no index leads with.

use pg_query::NodeEnum;
use pg_query::protobuf::ConstrType;

use super::{Docs, Finding, Rule, RuleInfo, StmtRef};
use crate::ast::{TableName, WrittenConstraint, alter_constraints, create_constraints};
use crate::context::Ctx;
use crate::diagnostic::{Severity, Span};
use crate::naming::Kind;

pub struct ForeignKeyWithoutIndex;

static INFO: RuleInfo = RuleInfo {
    code: "foreign-key-without-index",
    severity: Severity::Warning,
    summary: "A foreign key without an index on its columns makes every delete of a referenced row scan the referencing table.",
    help: "Create an index whose leading columns are the foreign key's columns.",
    docs: Docs {
        what: "Flags a foreign key (in `CREATE TABLE`, `ALTER TABLE ... ADD CONSTRAINT ... FOREIGN KEY` or `ADD COLUMN ... REFERENCES`) when no index on the referencing table starts with its columns (in any order): not the table's primary key or unique constraints, not a `CREATE INDEX` anywhere in the same file or an earlier file of the history, and, with `--database`, not an index or key the table already has. A foreign key on a table that exists before the migration is checked only with `--database` (without it the index may exist). Partial indexes and indexes other than btree do not count.",
        why: "PostgreSQL indexes the referenced side of a foreign key (it must be a key) but not the referencing side. Every `DELETE` or key `UPDATE` of a referenced row then checks the referencing table with a sequential scan while holding its row lock, `ON DELETE CASCADE` scans it once per deleted row, and joins from the parent to its children scan it too. On a large table one parent delete can take minutes and hold locks all that time.",
        example: "CREATE TABLE order_items (\n    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n    order_id bigint NOT NULL REFERENCES orders (id)\n);",
        instead: "CREATE TABLE order_items (\n    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n    order_id bigint NOT NULL REFERENCES orders (id)\n);\nCREATE INDEX order_items_order_id_idx ON order_items (order_id);",
    },
};

impl Rule for ForeignKeyWithoutIndex {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, _stmt: &StmtRef<'_>, _ctx: &Ctx<'_>, _out: &mut Vec<Finding>) {}

    /// At the end of the file, so an index created after the foreign key counts.
    fn finish(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        // Each foreign key, and whether its table was created earlier in the file (so an index
        // on it needs no CONCURRENTLY).
        let mut foreign: Vec<(TableName, WrittenConstraint<'_>, Span, bool)> = Vec::new();
        let mut created: Vec<TableName> = Vec::new();
        for (node, span) in ctx.previous.iter().zip(&ctx.previous_spans) {
            let (table, constraints) = match node {
                NodeEnum::CreateStmt(s) => match &s.relation {
                    Some(rv) => {
                        let table = TableName::of(rv);
                        if !(s.if_not_exists && ctx.table_exists(&table) == Some(true)) {
                            created.push(table.clone());
                        }
                        (table, create_constraints(s))
                    }
                    None => continue,
                },
                NodeEnum::AlterTableStmt(s) => match &s.relation {
                    Some(rv) => (TableName::of(rv), alter_constraints(s)),
                    None => continue,
                },
                _ => continue,
            };
            for c in constraints {
                if c.kind() == ConstrType::ConstrForeign && !c.columns.is_empty() {
                    let new = created.contains(&table);
                    foreign.push((table.clone(), c, *span, new));
                }
            }
        }
        // A table created in an earlier file of the history is new too.
        let created_here: Vec<String> = ctx
            .previous
            .iter()
            .filter_map(|n| match n {
                NodeEnum::CreateStmt(s) => s.relation.as_ref().map(|rv| TableName::of(rv).qualified()),
                _ => None,
            })
            .collect();
        for (table, fk, span, new) in foreign {
            let new = new || (ctx.is_new_table(&table) && !created_here.contains(&table.qualified()));
            // A table that exists before the history may have the index already: only the live
            // database can tell.
            if !new && ctx.table_exists(&table).is_none() {
                continue;
            }
            let leads = |columns: &[String]| {
                columns.len() >= fk.columns.len() && fk.columns.iter().all(|c| columns[..fk.columns.len()].contains(c))
            };
            if ctx.keys.iter().any(|(t, columns)| t.qualified() == table.qualified() && leads(columns))
                || live_index_leads(ctx, &table, &leads)
            {
                continue;
            }
            let referenced = fk.constraint.pktable.as_ref().map(|rv| TableName::of(rv).display()).unwrap_or_default();
            let columns = fk.columns.join(", ");
            let name = match ctx.naming.pattern(Kind::Index) {
                Some(convention) => convention.value.render(&table.name, &fk.columns),
                None => Kind::Index.postgres_default().render(&table.name, &fk.columns),
            };
            let concurrently = if new { "" } else { " CONCURRENTLY" };
            let quoted: Vec<String> = fk.columns.iter().map(|c| cutover_sql::quote::ident(c)).collect();
            let mut finding = Finding::new(format!(
                "Foreign key {}({columns}) → {referenced} has no index on {} that starts with ({columns}): each delete or key update in {referenced} scans {}.",
                table.display(),
                table.display(),
                table.display()
            ))
            .help(format!(
                "Add CREATE INDEX{concurrently} {} ON {} ({});",
                cutover_sql::quote::ident(&name),
                display_quoted(&table),
                quoted.join(", ")
            ));
            finding.span = Some(span);
            out.push(finding);
        }
    }
}

/// An index or key of the table in the live database whose leading columns satisfy `leads`.
fn live_index_leads(ctx: &Ctx<'_>, table: &TableName, leads: &dyn Fn(&[String]) -> bool) -> bool {
    let Some(t) = ctx.database.and_then(|db| db.tables.get(&table.qual_name())) else { return false };
    let from_indexes =
        t.indexes.values().filter(|i| i.method == "btree" && i.predicate.is_none() && i.valid).any(|i| {
            let columns: Vec<String> = i.keys.iter().map_while(|k| k.column.clone()).collect();
            leads(&columns)
        });
    let from_keys = t.constraints.values().any(|c| {
        matches!(c.kind, cutover_schema::ConstraintKind::PrimaryKey | cutover_schema::ConstraintKind::Unique)
            && leads(&c.columns)
    });
    from_indexes || from_keys
}

/// The table as written, each part quoted where it needs to be.
fn display_quoted(table: &TableName) -> String {
    match &table.schema {
        Some(s) => format!("{}.{}", cutover_sql::quote::ident(s), cutover_sql::quote::ident(&table.name)),
        None => cutover_sql::quote::ident(&table.name),
    }
}

#[cfg(test)]
mod tests {
    use crate::{LintOptions, RuleSettings, SourceFile, lint};

    fn findings(files: &[(&str, &str)]) -> Vec<String> {
        let files: Vec<SourceFile> =
            files.iter().map(|(path, text)| SourceFile { path: path.to_string(), text: text.to_string() }).collect();
        let options =
            LintOptions { rules: RuleSettings::only(&["foreign-key-without-index"]), ..LintOptions::default() };
        lint(&files, &options).diagnostics.iter().map(|d| format!("{}:{}", d.file, d.line)).collect()
    }

    #[test]
    fn an_index_from_an_earlier_file_counts_and_names_are_compared_qualified() {
        let create =
            "CREATE TABLE public.items (id bigint PRIMARY KEY, order_id bigint);\nCREATE INDEX ON items (order_id);\n";
        let reference = "ALTER TABLE items ADD CONSTRAINT items_order_id_fkey FOREIGN KEY (order_id) REFERENCES orders (id) NOT VALID;\n";
        assert_eq!(findings(&[("1.sql", create), ("2.sql", reference)]), Vec::<String>::new());
        // Without the index, the table created in the earlier file is new: checked, and flagged.
        let bare = "CREATE TABLE public.items (id bigint PRIMARY KEY, order_id bigint);\n";
        assert_eq!(findings(&[("1.sql", bare), ("2.sql", reference)]), ["2.sql:1"]);
    }
}
