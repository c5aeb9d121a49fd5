//! Identities of schema objects and the dependencies between them.

use crate::{FunctionId, QualName};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The identity of one object of a catalog, at the granularity at which Cutover creates,
/// alters and drops things. Objects that live on a table (columns, constraints, triggers,
/// policies) are named by the table and their own name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ObjId {
    Schema {
        name: String,
    },
    Extension {
        name: String,
    },
    Collation {
        name: QualName,
    },
    /// Enums, domains and composite types.
    Type {
        name: QualName,
    },
    Sequence {
        name: QualName,
    },
    /// The ownership link `ALTER SEQUENCE ... OWNED BY table.column`.
    SequenceOwner {
        name: QualName,
    },
    Table {
        name: QualName,
    },
    Column {
        table: QualName,
        name: String,
    },
    ColumnDefault {
        table: QualName,
        column: String,
    },
    Constraint {
        table: QualName,
        name: String,
    },
    /// A standalone index; indexes that implement a constraint are the constraint.
    Index {
        name: QualName,
    },
    /// Views and materialized views.
    View {
        name: QualName,
    },
    /// An extended statistics object.
    Statistics {
        name: QualName,
    },
    Function {
        id: FunctionId,
    },
    Trigger {
        table: QualName,
        name: String,
    },
    Policy {
        table: QualName,
        name: String,
    },
}

impl ObjId {
    /// The relation (table, view, sequence) this object is or belongs to, if any.
    pub fn relation(&self) -> Option<&QualName> {
        match self {
            ObjId::Table { name } | ObjId::View { name } | ObjId::Sequence { name } => Some(name),
            ObjId::Column { table, .. }
            | ObjId::ColumnDefault { table, .. }
            | ObjId::Constraint { table, .. }
            | ObjId::Trigger { table, .. }
            | ObjId::Policy { table, .. } => Some(table),
            _ => None,
        }
    }

    /// The schema the object lives in (for a schema, itself).
    pub fn schema(&self) -> Option<&str> {
        match self {
            ObjId::Schema { name } => Some(name),
            ObjId::Extension { .. } => None,
            ObjId::Collation { name }
            | ObjId::Type { name }
            | ObjId::Sequence { name }
            | ObjId::SequenceOwner { name }
            | ObjId::Table { name }
            | ObjId::Index { name }
            | ObjId::Statistics { name }
            | ObjId::View { name } => Some(&name.schema),
            ObjId::Function { id } => Some(&id.name.schema),
            ObjId::Column { table, .. }
            | ObjId::ColumnDefault { table, .. }
            | ObjId::Constraint { table, .. }
            | ObjId::Trigger { table, .. }
            | ObjId::Policy { table, .. } => Some(&table.schema),
        }
    }
}

impl fmt::Display for ObjId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObjId::Schema { name } => write!(f, "schema {name}"),
            ObjId::Extension { name } => write!(f, "extension {name}"),
            ObjId::Collation { name } => write!(f, "collation {name}"),
            ObjId::Statistics { name } => write!(f, "statistics {name}"),
            ObjId::Type { name } => write!(f, "type {name}"),
            ObjId::Sequence { name } => write!(f, "sequence {name}"),
            ObjId::SequenceOwner { name } => write!(f, "owner of sequence {name}"),
            ObjId::Table { name } => write!(f, "table {name}"),
            ObjId::Column { table, name } => write!(f, "column {table}.{name}"),
            ObjId::ColumnDefault { table, column } => write!(f, "default of {table}.{column}"),
            ObjId::Constraint { table, name } => write!(f, "constraint {name} on {table}"),
            ObjId::Index { name } => write!(f, "index {name}"),
            ObjId::View { name } => write!(f, "view {name}"),
            ObjId::Function { id } => write!(f, "function {id}"),
            ObjId::Trigger { table, name } => write!(f, "trigger {name} on {table}"),
            ObjId::Policy { table, name } => write!(f, "policy {name} on {table}"),
        }
    }
}

/// `dependent` needs `referenced` to exist (PostgreSQL's `pg_depend`, mapped onto [`ObjId`]s).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Dependency {
    pub dependent: ObjId,
    pub referenced: ObjId,
}

use crate::Catalog;

impl Catalog {
    /// Whether the object exists in this catalog.
    pub fn contains(&self, id: &ObjId) -> bool {
        match id {
            ObjId::Schema { name } => self.schemas.contains_key(name),
            ObjId::Extension { name } => self.extensions.contains_key(name),
            ObjId::Collation { name } => self.collations.contains_key(name),
            ObjId::Statistics { name } => self.statistics.contains_key(name),
            ObjId::Type { name } => self.types.contains_key(name),
            ObjId::Sequence { name } => self.sequences.contains_key(name),
            ObjId::SequenceOwner { name } => self.sequences.get(name).is_some_and(|s| s.owned_by.is_some()),
            ObjId::Table { name } => self.tables.contains_key(name),
            ObjId::Column { table, name } => self.tables.get(table).is_some_and(|t| t.column(name).is_some()),
            ObjId::ColumnDefault { table, column } => {
                self.tables.get(table).and_then(|t| t.column(column)).is_some_and(|c| c.default.is_some())
            }
            ObjId::Constraint { table, name } => {
                self.tables.get(table).is_some_and(|t| t.constraints.contains_key(name))
            }
            ObjId::Index { name } => self.index_owner(name).is_some(),
            ObjId::View { name } => self.views.contains_key(name),
            ObjId::Function { id } => self.functions.contains_key(id),
            ObjId::Trigger { table, name } => {
                self.tables.get(table).is_some_and(|t| t.triggers.contains_key(name))
                    || self.views.get(table).is_some_and(|v| v.triggers.contains_key(name))
            }
            ObjId::Policy { table, name } => self.tables.get(table).is_some_and(|t| t.policies.contains_key(name)),
        }
    }

    /// The table or materialized view an index (named in its table's schema) belongs to.
    pub fn index_owner(&self, index: &QualName) -> Option<&QualName> {
        self.tables
            .iter()
            .filter(|(name, _)| name.schema == index.schema)
            .find(|(_, t)| t.indexes.contains_key(&index.name))
            .map(|(name, _)| name)
            .or_else(|| {
                self.views
                    .iter()
                    .filter(|(name, _)| name.schema == index.schema)
                    .find(|(_, v)| v.indexes.contains_key(&index.name))
                    .map(|(name, _)| name)
            })
    }

    /// Every object of the catalog, in a stable order in which the objects of a table or view
    /// come right after it, a column's default right after the column, and a sequence's
    /// `OWNED BY` link right after the sequence (the diff relies on this order).
    pub fn object_ids(&self) -> Vec<ObjId> {
        let mut out = Vec::new();
        out.extend(self.schemas.keys().map(|n| ObjId::Schema { name: n.clone() }));
        out.extend(self.extensions.keys().map(|n| ObjId::Extension { name: n.clone() }));
        out.extend(self.collations.keys().map(|n| ObjId::Collation { name: n.clone() }));
        out.extend(self.types.keys().map(|n| ObjId::Type { name: n.clone() }));
        for (name, seq) in &self.sequences {
            out.push(ObjId::Sequence { name: name.clone() });
            if seq.owned_by.is_some() {
                out.push(ObjId::SequenceOwner { name: name.clone() });
            }
        }
        for (name, table) in &self.tables {
            out.push(ObjId::Table { name: name.clone() });
            out.extend(table.sub_objects(name));
        }
        for (name, view) in &self.views {
            out.push(ObjId::View { name: name.clone() });
            out.extend(
                view.indexes.keys().map(|i| ObjId::Index { name: QualName::new(name.schema.clone(), i.clone()) }),
            );
            out.extend(view.triggers.keys().map(|t| ObjId::Trigger { table: name.clone(), name: t.clone() }));
        }
        out.extend(self.statistics.keys().map(|n| ObjId::Statistics { name: n.clone() }));
        out.extend(self.functions.keys().map(|id| ObjId::Function { id: id.clone() }));
        out
    }
}

impl crate::Table {
    /// The columns, defaults, constraints, indexes, triggers and policies of this table.
    pub fn sub_objects(&self, name: &QualName) -> Vec<ObjId> {
        let mut out = Vec::new();
        for c in &self.columns {
            out.push(ObjId::Column { table: name.clone(), name: c.name.clone() });
            if c.default.is_some() {
                out.push(ObjId::ColumnDefault { table: name.clone(), column: c.name.clone() });
            }
        }
        out.extend(self.constraints.keys().map(|c| ObjId::Constraint { table: name.clone(), name: c.clone() }));
        out.extend(self.indexes.keys().map(|i| ObjId::Index { name: QualName::new(name.schema.clone(), i.clone()) }));
        out.extend(self.triggers.keys().map(|t| ObjId::Trigger { table: name.clone(), name: t.clone() }));
        out.extend(self.policies.keys().map(|p| ObjId::Policy { table: name.clone(), name: p.clone() }));
        out
    }
}
