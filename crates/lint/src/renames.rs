//! The renames a block of SQL asks for (`ALTER TABLE … RENAME TO`, `ALTER TABLE … RENAME
//! COLUMN … TO`), read with PostgreSQL's parser, as the planner's rename hints: the catalogs
//! before and after such SQL only show a table or column gone and another one new, which
//! would be planned as a drop and an add (data lost); the statements say it is one object.

use crate::ast::TableName;
use cutover_plan::planner::{ColumnRename, TableRename};
use cutover_schema::QualName;
use pg_query::NodeEnum;
use pg_query::protobuf::ObjectType;

/// Table and column renames, as the planner takes them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Renames {
    /// Tables by their current name, to their final name.
    pub tables: Vec<TableRename>,
    /// Columns on the table's final name (the planner renames tables first), from their
    /// current name to their final name.
    pub columns: Vec<ColumnRename>,
}

/// The renames in `sql`. Statements that do not parse are skipped: the SQL is applied to a
/// scratch database before this is asked, which reports them. Unqualified names are in
/// `public`. Chains (`a` to `b`, then `b` to `c`) collapse into one rename; an object renamed
/// back to its own name is no rename.
pub fn renames(sql: &str) -> Renames {
    // Tables as (schema, current name, name now); columns as (the table, current column
    // name, column name now), the table being an entry of `tables` when it was renamed before
    // the column, else its name (it may be renamed after).
    let mut tables: Vec<(String, String, String)> = Vec::new();
    let mut columns: Vec<(TableRef, String, String)> = Vec::new();
    for piece in cutover_sql::split::split(sql) {
        let Ok(parsed) = pg_query::parse(piece.text, 0) else { continue };
        for raw in &parsed.protobuf.stmts {
            let Some(NodeEnum::RenameStmt(rename)) = raw.stmt.as_ref().and_then(|s| s.node.as_ref()) else {
                continue;
            };
            let Some(table) = rename.relation.as_ref().map(TableName::of) else { continue };
            let schema = table.schema.clone().unwrap_or_else(|| "public".into());
            let renamed = tables.iter().position(|(s, _, now)| *s == schema && *now == table.name);
            let table_ref = match renamed {
                Some(index) => TableRef::Renamed(index),
                None => TableRef::Named(schema.clone(), table.name.clone()),
            };
            match ObjectType::try_from(rename.rename_type) {
                Ok(ObjectType::ObjectTable) => match renamed {
                    Some(index) => tables[index].2 = rename.newname.clone(),
                    None => tables.push((schema, table.name.clone(), rename.newname.clone())),
                },
                Ok(ObjectType::ObjectColumn) => {
                    match columns.iter_mut().find(|(t, _, now)| *t == table_ref && *now == rename.subname) {
                        Some(entry) => entry.2 = rename.newname.clone(),
                        None => columns.push((table_ref, rename.subname.clone(), rename.newname.clone())),
                    }
                }
                _ => {}
            }
        }
    }
    let mut out = Renames::default();
    for (schema, from, to) in &tables {
        if from != to {
            out.tables.push(TableRename { from: QualName::new(schema, from), to: to.clone() });
        }
    }
    for (table, from, to) in columns {
        if from == to {
            continue;
        }
        // The table's final name: the planner renames tables before it plans columns.
        let table = match table {
            TableRef::Renamed(index) => QualName::new(&tables[index].0, &tables[index].2),
            TableRef::Named(schema, name) => match tables.iter().find(|(s, first, _)| *s == schema && *first == name) {
                Some((_, _, now)) => QualName::new(&schema, now),
                None => QualName::new(&schema, &name),
            },
        };
        out.columns.push(ColumnRename { table, from, to });
    }
    out
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum TableRef {
    Renamed(usize),
    Named(String, String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(r: &Renames) -> (Vec<String>, Vec<String>) {
        (
            r.tables.iter().map(|t| format!("{}={}", t.from, t.to)).collect(),
            r.columns.iter().map(|c| format!("{}.{}={}", c.table, c.from, c.to)).collect(),
        )
    }

    #[test]
    fn reads_table_and_column_renames() {
        let sql = "ALTER TABLE users RENAME COLUMN email TO email_address;\n\
                   alter table billing.\"Invoices\" rename to invoices;\n\
                   ALTER TABLE orders ADD COLUMN note text;\n\
                   CREATE INDEX ON orders (note);";
        let r = renames(sql);
        assert_eq!(
            shown(&r),
            (vec!["billing.Invoices=invoices".to_string()], vec!["public.users.email=email_address".to_string()])
        );
    }

    #[test]
    fn columns_follow_their_table_to_its_final_name() {
        // The column renamed before and after the table's rename: both on the final name.
        let before = renames("ALTER TABLE a RENAME COLUMN x TO y; ALTER TABLE a RENAME TO b;");
        assert_eq!(shown(&before), (vec!["public.a=b".to_string()], vec!["public.b.x=y".to_string()]));
        let after = renames("ALTER TABLE a RENAME TO b; ALTER TABLE b RENAME COLUMN x TO y;");
        assert_eq!(shown(&after), (vec!["public.a=b".to_string()], vec!["public.b.x=y".to_string()]));
        let between =
            renames("ALTER TABLE a RENAME TO b; ALTER TABLE b RENAME COLUMN x TO y; ALTER TABLE b RENAME TO c;");
        assert_eq!(shown(&between), (vec!["public.a=c".to_string()], vec!["public.c.x=y".to_string()]));
    }

    #[test]
    fn chains_collapse_and_round_trips_vanish() {
        let r = renames(
            "ALTER TABLE t RENAME COLUMN a TO b; ALTER TABLE t RENAME COLUMN b TO c;\n\
             ALTER TABLE u RENAME TO v; ALTER TABLE v RENAME TO u;",
        );
        assert_eq!(shown(&r), (vec![], vec!["public.t.a=c".to_string()]));
    }

    #[test]
    fn other_renames_and_broken_statements_are_not_table_renames() {
        let r = renames(
            "ALTER INDEX i RENAME TO j; ALTER SEQUENCE s RENAME TO s2; ALTER TABLE t RENAME CONSTRAINT c TO d;\n\
             ALTER TABLE RENAME nonsense;",
        );
        assert_eq!(r, Renames::default());
    }
}
