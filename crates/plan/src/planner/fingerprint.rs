//! What a plan was made against: a fingerprint of every existing table its steps lock, so
//! `apply` can refuse a database that has drifted since (a column added or retyped, an index
//! dropped or left INVALID, a constraint changed) instead of running steps planned for
//! another shape.
//!
//! Each part of a table (columns, constraints, indexes, triggers) is hashed separately, so a
//! refusal says which part changed. Comments and privileges are left out: they change no
//! step's meaning.

use super::model::{Fingerprint, Plan};
use cutover_schema::{Catalog, Table};
use cutover_sql::quote;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// The fingerprint of every table of `current` that a step of `plan` locks, by its quoted
/// qualified name (as the steps' locks name it).
pub fn touched(current: &Catalog, plan: &Plan) -> BTreeMap<String, Fingerprint> {
    let locked: BTreeSet<&str> = plan.steps().flat_map(|(_, s)| s.locks.iter().map(|l| l.relation.as_str())).collect();
    current
        .tables
        .iter()
        .map(|(name, table)| (quote::qualified(name), table))
        .filter(|(name, _)| locked.contains(name.as_str()))
        .map(|(name, table)| (name, of(table)))
        .collect()
}

/// The fingerprint of one table.
pub fn of(table: &Table) -> Fingerprint {
    let columns: Vec<_> = table
        .columns
        .iter()
        .map(|c| (&c.name, &c.data_type, c.not_null, &c.default, &c.identity, &c.generated, &c.collation, c.is_local))
        .collect();
    let mut constraints = table.constraints.clone();
    constraints.values_mut().for_each(|c| c.comment = None);
    let mut indexes = table.indexes.clone();
    indexes.values_mut().for_each(|i| i.comment = None);
    let mut triggers = table.triggers.clone();
    triggers.values_mut().for_each(|t| t.comment = None);
    Fingerprint {
        columns: hash(&columns),
        constraints: hash(&constraints),
        indexes: hash(&indexes),
        triggers: hash(&triggers),
    }
}

fn hash(value: &impl serde::Serialize) -> String {
    // Serializing the model cannot fail: it has no maps with non-string keys.
    let text = serde_json::to_vec(value).unwrap_or_default();
    Sha256::digest(&text).iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// The parts of a table that differ between two fingerprints, in words.
pub fn differences(planned: &Fingerprint, found: &Fingerprint) -> Vec<&'static str> {
    let mut out = Vec::new();
    if planned.columns != found.columns {
        out.push("columns");
    }
    if planned.constraints != found.constraints {
        out.push("constraints");
    }
    if planned.indexes != found.indexes {
        out.push("indexes");
    }
    if planned.triggers != found.triggers {
        out.push("triggers");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use cutover_schema::{Column, TableKind};

    fn table(data_type: &str, comment: Option<&str>) -> Table {
        Table {
            kind: TableKind::Ordinary,
            unlogged: false,
            columns: vec![Column {
                name: "id".into(),
                data_type: data_type.into(),
                not_null: true,
                default: None,
                identity: None,
                generated: None,
                collation: None,
                is_local: true,
                comment: comment.map(str::to_string),
                grants: Default::default(),
            }],
            partition_key: None,
            partition_of: None,
            inherits: vec![],
            constraints: Default::default(),
            indexes: Default::default(),
            triggers: Default::default(),
            policies: Default::default(),
            rls_enabled: false,
            rls_forced: false,
            options: vec![],
            comment: None,
            grants: Default::default(),
        }
    }

    #[test]
    fn a_retyped_column_changes_the_columns_part_and_a_comment_nothing() {
        let planned = of(&table("integer", None));
        assert_eq!(differences(&planned, &of(&table("integer", Some("why")))), Vec::<&str>::new());
        assert_eq!(differences(&planned, &of(&table("bigint", None))), ["columns"]);
    }
}
