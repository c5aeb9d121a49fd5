//! Table renames as expand/contract: the table takes its new name in expand, together with
//! a view under the old name so the running application keeps reading and writing through
//! it (a simple view is updatable); the view goes in contract.
//!
//! The diff alone sees a dropped table and a new one. With a rename given, the current
//! catalog is renamed first (the table, what refers to it, and the constraints, indexes and
//! sequences whose names follow the table's when the desired schema names them that way),
//! and the diff of that catalog against the desired one plans the rest.

use super::model::{AppChange, Lock, PhaseName, Postcondition, Step};
use crate::hazard::{Hazard, HazardCode};
use crate::locks::LockMode;
use cutover_schema::{Catalog, Dependency, ForeignKey, ObjId, QualName};
use cutover_sql::ddl::{
    Stmt, TableAction, foreign_key_definition, foreign_key_on_renamed_table, trigger_on_renamed_table,
};
use cutover_sql::quote;

/// A table rename the user asked for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TableRename {
    pub from: QualName,
    pub to: String,
}

impl TableRename {
    /// Parses `[schema.]old=new`.
    pub fn parse(text: &str) -> Result<TableRename, String> {
        let (path, to) = text.split_once('=').ok_or_else(|| format!("{text}: expected [schema.]table=new_name"))?;
        let from = match path.split_once('.') {
            Some((schema, table)) => QualName::new(schema, table),
            None => QualName::new("public", path),
        };
        if from.name.is_empty() || to.is_empty() || to.contains('.') {
            return Err(format!("{text}: expected [schema.]table=new_name"));
        }
        Ok(TableRename { from, to: to.to_string() })
    }

    pub fn target(&self) -> QualName {
        QualName::new(self.from.schema.clone(), self.to.clone())
    }
}

/// The current catalog as it is once the renames ran, and for each rename the statements
/// that run it (empty when the table does not exist).
pub(super) fn apply(current: &Catalog, desired: &Catalog, renames: &[TableRename]) -> (Catalog, Vec<Vec<Stmt>>) {
    let mut catalog = current.clone();
    let mut all = Vec::new();
    for r in renames {
        let to = r.target();
        let mut stmts = Vec::new();
        let Some(mut table) = catalog.tables.remove(&r.from) else {
            all.push(stmts);
            continue;
        };
        stmts.push(Stmt::AlterTable { name: r.from.clone(), action: TableAction::RenameTo { new_name: r.to.clone() } });
        let wanted = desired.tables.get(&to);
        let follow =
            |name: &str| -> Option<String> { name.strip_prefix(&r.from.name).map(|rest| format!("{}{rest}", r.to)) };
        let mut renamed_ids: Vec<(ObjId, ObjId)> =
            vec![(ObjId::Table { name: r.from.clone() }, ObjId::Table { name: to.clone() })];
        // Constraints and indexes named after the table follow it when the desired schema
        // names them the new way.
        for old in table.constraints.keys().cloned().collect::<Vec<_>>() {
            if let Some(new) = follow(&old)
                .filter(|n| wanted.is_some_and(|w| w.constraints.contains_key(n) && !w.constraints.contains_key(&old)))
            {
                let mut c = table.constraints.remove(&old).expect("listed");
                if c.index.as_deref() == Some(old.as_str()) {
                    c.index = Some(new.clone());
                }
                table.constraints.insert(new.clone(), c);
                stmts.push(Stmt::RenameConstraint { table: to.clone(), name: old.clone(), new_name: new.clone() });
                renamed_ids.push((
                    ObjId::Constraint { table: to.clone(), name: old },
                    ObjId::Constraint { table: to.clone(), name: new },
                ));
            }
        }
        for old in table.indexes.keys().cloned().collect::<Vec<_>>() {
            if let Some(new) = follow(&old)
                .filter(|n| wanted.is_some_and(|w| w.indexes.contains_key(n) && !w.indexes.contains_key(&old)))
            {
                let i = table.indexes.remove(&old).expect("listed");
                table.indexes.insert(new.clone(), i);
                let (o, n) = (QualName::new(to.schema.clone(), old), QualName::new(to.schema.clone(), new.clone()));
                stmts.push(Stmt::RenameIndex { name: o.clone(), new_name: new });
                renamed_ids.push((ObjId::Index { name: o }, ObjId::Index { name: n }));
            }
        }
        catalog.tables.insert(to.clone(), table);
        if let Some(f) = catalog.facts.tables.remove(&r.from) {
            catalog.facts.tables.insert(to.clone(), f);
        }
        // Sequences owned by the table, named after it.
        for name in catalog.sequences.keys().cloned().collect::<Vec<_>>() {
            let owned = catalog.sequences[&name].owned_by.as_ref().is_some_and(|(t, _)| *t == r.from);
            if !owned {
                continue;
            }
            let mut seq = catalog.sequences.remove(&name).expect("listed");
            if let Some((t, _)) = seq.owned_by.as_mut() {
                *t = to.clone();
            }
            let new_name = follow(&name.name)
                .map(|n| QualName::new(name.schema.clone(), n))
                .filter(|n| desired.sequences.contains_key(n) && !desired.sequences.contains_key(&name));
            match new_name {
                Some(n) => {
                    stmts.push(Stmt::RenameSequence { name: name.clone(), new_name: n.name.clone() });
                    for t in catalog.tables.values_mut() {
                        for c in &mut t.columns {
                            // The server prints the sequence as a regclass literal; quotes
                            // in it are doubled, so the pattern cannot start or end inside
                            // another literal.
                            if let Some(d) = c.default.as_mut() {
                                *d = d.replace(
                                    &format!("{}::regclass", quote::literal(&quote::qualified(&name))),
                                    &format!("{}::regclass", quote::literal(&quote::qualified(&n))),
                                );
                            }
                        }
                    }
                    renamed_ids.push((ObjId::Sequence { name: name.clone() }, ObjId::Sequence { name: n.clone() }));
                    renamed_ids
                        .push((ObjId::SequenceOwner { name: name.clone() }, ObjId::SequenceOwner { name: n.clone() }));
                    catalog.sequences.insert(n, seq);
                }
                None => {
                    catalog.sequences.insert(name, seq);
                }
            }
        }
        // What refers to the table by name.
        for t in catalog.tables.values_mut() {
            for c in t.constraints.values_mut() {
                if let Some(fk) = c.foreign_key.as_mut()
                    && fk.referenced_table == r.from
                {
                    let rendered =
                        |fk: &ForeignKey| foreign_key_definition(&c.columns, fk, c.deferrable, c.initially_deferred);
                    let from_structure = c.definition == rendered(fk);
                    fk.referenced_table = to.clone();
                    c.definition = if from_structure {
                        rendered(fk)
                    } else {
                        // A form only the server prints (ON DELETE SET NULL (columns), ...):
                        // its one REFERENCES clause names the table.
                        foreign_key_on_renamed_table(&c.definition, &r.from, &to)
                    };
                }
            }
            if let Some(p) = t.partition_of.as_mut()
                && p.parent == r.from
            {
                p.parent = to.clone();
            }
            for parent in &mut t.inherits {
                if *parent == r.from {
                    *parent = to.clone();
                }
            }
        }
        if let Some(t) = catalog.tables.get_mut(&to) {
            for trigger in t.triggers.values_mut() {
                if let Some(definition) = trigger_on_renamed_table(&trigger.definition, &r.from, &to) {
                    trigger.definition = definition;
                }
            }
        }
        catalog.dependencies = catalog
            .dependencies
            .iter()
            .map(|d| Dependency {
                dependent: rename_id(&d.dependent, &r.from, &to, &renamed_ids),
                referenced: rename_id(&d.referenced, &r.from, &to, &renamed_ids),
            })
            .collect();
        catalog.dependencies.sort();
        catalog.dependencies.dedup();
        all.push(stmts);
    }
    (catalog, all)
}

fn rename_id(id: &ObjId, from: &QualName, to: &QualName, renamed: &[(ObjId, ObjId)]) -> ObjId {
    let moved = |t: &QualName| if t == from { to.clone() } else { t.clone() };
    let id = match id {
        ObjId::Table { name } => ObjId::Table { name: moved(name) },
        ObjId::Column { table, name } => ObjId::Column { table: moved(table), name: name.clone() },
        ObjId::ColumnDefault { table, column } => ObjId::ColumnDefault { table: moved(table), column: column.clone() },
        ObjId::Constraint { table, name } => ObjId::Constraint { table: moved(table), name: name.clone() },
        ObjId::Trigger { table, name } => ObjId::Trigger { table: moved(table), name: name.clone() },
        ObjId::Policy { table, name } => ObjId::Policy { table: moved(table), name: name.clone() },
        other => other.clone(),
    };
    renamed.iter().find(|(o, _)| *o == id).map(|(_, n)| n.clone()).unwrap_or(id)
}

/// The steps of one rename: the rename and its compatibility view in one transaction in
/// expand, the view dropped in contract.
pub(super) fn steps(rename: &TableRename, stmts: &[Stmt], lock_timeout_ms: u64) -> Vec<(PhaseName, Step)> {
    let to = rename.target();
    let mut sql: Vec<String> = stmts.iter().map(|s| s.to_string()).collect();
    sql.push(Stmt::CreateCompatibilityView { name: rename.from.clone(), table: to.clone() }.to_string());
    let lock = |relation: &QualName| Lock { mode: LockMode::AccessExclusive, relation: quote::qualified(relation) };
    let expand = Step {
        sql: sql.join(";\n"),
        transactional: true,
        locks: vec![lock(&rename.from)],
        rewrites_table: false,
        scans_table: false,
        lock_timeout_ms,
        statement_timeout_ms: 30_000,
        hazards: vec![
            Hazard::new(
                HazardCode::AccessExclusiveLock,
                format!("holds ACCESS EXCLUSIVE on {} for the rename (catalog only)", rename.from),
            ),
            Hazard::new(
                HazardCode::PerformanceImpact,
                format!(
                    "the running version reaches {to} through the view {}; plans that relied on the table's own statistics may change",
                    rename.from
                ),
            ),
        ],
        rollback_sql: Some(
            std::iter::once(Stmt::DropView { name: rename.from.clone(), materialized: false }.to_string())
                .chain(stmts.iter().rev().filter_map(|s| reverse(s, rename)))
                .collect::<Vec<_>>()
                .join(";\n"),
        ),
        estimate: None,
        why: format!(
            "Renames the table and, in the same transaction, puts an updatable view under the old name: the running version keeps reading and writing {}, the new one uses {}. Catalog only.",
            rename.from, to
        ),
        backfill: None,
        builds_index: None,
        effect: None,
        // The old name is a view from here on, no longer a table.
        postconditions: vec![
            Postcondition::Table { table: to.clone(), exists: true },
            Postcondition::Table { table: rename.from.clone(), exists: false },
        ],
        app_changes: Vec::new(),
    };
    let contract = Step {
        sql: Stmt::DropView { name: rename.from.clone(), materialized: false }.to_string(),
        transactional: true,
        locks: vec![lock(&rename.from)],
        rewrites_table: false,
        scans_table: false,
        lock_timeout_ms,
        statement_timeout_ms: 30_000,
        hazards: vec![Hazard::new(
            HazardCode::BreaksRunningCode,
            format!("the old name {} goes away: no running version may use it", rename.from),
        )],
        rollback_sql: Some(Stmt::CreateCompatibilityView { name: rename.from.clone(), table: to }.to_string()),
        estimate: None,
        why: "The compatibility view goes once no application version uses the old name.".into(),
        backfill: None,
        builds_index: None,
        effect: None,
        postconditions: Vec::new(),
        app_changes: vec![AppChange::RenameTable { table: rename.from.clone(), to: rename.to.clone() }],
    };
    vec![(PhaseName::Expand, expand), (PhaseName::Contract, contract)]
}

/// The statement that undoes one statement of a rename.
fn reverse(stmt: &Stmt, rename: &TableRename) -> Option<String> {
    let to = rename.target();
    Some(match stmt {
        Stmt::AlterTable { action: TableAction::RenameTo { .. }, .. } => {
            Stmt::AlterTable { name: to, action: TableAction::RenameTo { new_name: rename.from.name.clone() } }
                .to_string()
        }
        Stmt::RenameConstraint { table, name, new_name } => {
            Stmt::RenameConstraint { table: table.clone(), name: new_name.clone(), new_name: name.clone() }.to_string()
        }
        Stmt::RenameIndex { name, new_name } => Stmt::RenameIndex {
            name: QualName::new(name.schema.clone(), new_name.clone()),
            new_name: name.name.clone(),
        }
        .to_string(),
        Stmt::RenameSequence { name, new_name } => Stmt::RenameSequence {
            name: QualName::new(name.schema.clone(), new_name.clone()),
            new_name: name.name.clone(),
        }
        .to_string(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_renames_are_parsed() {
        assert_eq!(TableRename::parse("users=customers").unwrap().from, QualName::new("public", "users"));
        assert_eq!(TableRename::parse("app.users=customers").unwrap().target(), QualName::new("app", "customers"));
        assert!(TableRename::parse("users=app.customers").is_err());
        assert!(TableRename::parse("users").is_err());
    }
}
