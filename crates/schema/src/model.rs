//! The catalog and its objects.

use crate::{Dependency, FunctionId, QualName};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Everything an application schema holds, as read from one database.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    pub schemas: BTreeMap<String, Namespace>,
    pub extensions: BTreeMap<String, Extension>,
    #[serde(with = "crate::pairs")]
    pub collations: BTreeMap<QualName, Collation>,
    #[serde(with = "crate::pairs")]
    pub types: BTreeMap<QualName, TypeDef>,
    #[serde(with = "crate::pairs")]
    pub sequences: BTreeMap<QualName, Sequence>,
    #[serde(with = "crate::pairs")]
    pub tables: BTreeMap<QualName, Table>,
    #[serde(with = "crate::pairs")]
    pub views: BTreeMap<QualName, View>,
    /// Extended statistics objects (`CREATE STATISTICS`).
    #[serde(default, with = "crate::pairs")]
    pub statistics: BTreeMap<QualName, Statistics>,
    #[serde(with = "crate::pairs")]
    pub functions: BTreeMap<FunctionId, Function>,
    /// What depends on what, from `pg_depend`, between objects of this catalog; sorted,
    /// without duplicates.
    pub dependencies: Vec<Dependency>,
    /// Facts about the server and the data; not part of the schema (ignored when comparing).
    pub facts: Facts,
}

/// An extended statistics object on one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statistics {
    pub table: QualName,
    /// The whole `CREATE STATISTICS` statement, as `pg_get_statisticsobjdef` prints it.
    pub definition: String,
    /// `ALTER STATISTICS ... SET STATISTICS n`; `None` for the default target.
    pub target: Option<i32>,
    pub comment: Option<String>,
}

/// Facts about the database a catalog was read from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    /// `server_version_num`, e.g. 150004.
    pub server_version_num: u32,
    /// Row estimates and sizes of tables, from `pg_class`.
    #[serde(with = "crate::pairs")]
    pub tables: BTreeMap<QualName, TableFacts>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableFacts {
    /// `reltuples`; `None` when the table was never analyzed or vacuumed.
    pub rows: Option<u64>,
    /// Heap size in bytes (`relpages * block size`).
    pub bytes: u64,
}

/// Who a privilege is granted to, or a policy applies to: the `PUBLIC` pseudo-role (every
/// role), or one role by name. A role that is really named `PUBLIC` (created as `"PUBLIC"`)
/// is `Role("PUBLIC")`, never the pseudo-role.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grantee {
    Public,
    Role(String),
}

/// A privilege granted on an object: `GRANT privilege ON object TO grantee`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Grant {
    pub grantee: Grantee,
    /// Upper-case privilege keyword: `SELECT`, `USAGE`, `EXECUTE`, ...
    pub privilege: String,
    pub grantable: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Namespace {
    pub comment: Option<String>,
    pub grants: BTreeSet<Grant>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extension {
    pub schema: String,
    pub version: String,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Collation {
    /// `libc`, `icu` or `builtin`.
    pub provider: String,
    pub locale: Option<String>,
    pub lc_collate: Option<String>,
    pub lc_ctype: Option<String>,
    pub deterministic: bool,
    pub comment: Option<String>,
}

/// A user-defined type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeDef {
    pub kind: TypeKind,
    pub comment: Option<String>,
    pub grants: BTreeSet<Grant>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TypeKind {
    Enum {
        labels: Vec<String>,
    },
    Domain {
        /// The base type as `format_type` prints it.
        base_type: String,
        not_null: bool,
        default: Option<String>,
        collation: Option<QualName>,
        constraints: BTreeMap<String, DomainConstraint>,
    },
    Composite {
        attributes: Vec<Attribute>,
    },
    Range {
        subtype: String,
        /// Set when it is not the subtype's default operator class.
        subtype_opclass: Option<QualName>,
        collation: Option<QualName>,
        /// Functions, by name (their argument types are fixed by the range type).
        canonical: Option<QualName>,
        subtype_diff: Option<QualName>,
        multirange: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainConstraint {
    /// `CHECK (...)` as `pg_get_constraintdef` prints it, without `NOT VALID`.
    pub definition: String,
    pub validated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribute {
    pub name: String,
    pub data_type: String,
    pub collation: Option<QualName>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sequence {
    /// `smallint`, `integer` or `bigint`.
    pub data_type: String,
    pub options: SequenceOptions,
    /// `OWNED BY table.column`.
    pub owned_by: Option<(QualName, String)>,
    pub unlogged: bool,
    pub comment: Option<String>,
    pub grants: BTreeSet<Grant>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SequenceOptions {
    pub start: i64,
    pub increment: i64,
    pub min_value: i64,
    pub max_value: i64,
    pub cache: i64,
    pub cycle: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableKind {
    Ordinary,
    Partitioned,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    pub kind: TableKind,
    pub unlogged: bool,
    /// In attribute order.
    pub columns: Vec<Column>,
    /// How a partitioned table is partitioned.
    pub partition_key: Option<PartitionKey>,
    /// Set when this table is a partition of another.
    pub partition_of: Option<PartitionOf>,
    /// Parents of a table that uses (non-partition) inheritance, in order.
    pub inherits: Vec<QualName>,
    pub constraints: BTreeMap<String, Constraint>,
    /// Standalone indexes, by index name (indexes live in the table's schema).
    pub indexes: BTreeMap<String, Index>,
    pub triggers: BTreeMap<String, Trigger>,
    pub policies: BTreeMap<String, Policy>,
    pub rls_enabled: bool,
    pub rls_forced: bool,
    /// Storage parameters, `name=value`, sorted.
    pub options: Vec<String>,
    pub comment: Option<String>,
    pub grants: BTreeSet<Grant>,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// The partition key of a partitioned table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionKey {
    /// From `pg_partitioned_table.partstrat`.
    pub strategy: PartitionStrategy,
    /// The key columns (`pg_partitioned_table.partattrs`), in order; `None` for a key that
    /// is an expression.
    pub columns: Vec<Option<String>>,
    /// The `PARTITION BY` clause as `pg_get_partkeydef` prints it, e.g. `RANGE (created_at)`:
    /// it may hold expressions, collations and operator classes, so it is emitted whole and
    /// never taken apart.
    pub definition: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartitionStrategy {
    Range,
    List,
    Hash,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionOf {
    pub parent: QualName,
    pub bound: PartitionBound,
}

/// A partition's bound, value by value (rendered by `cutover-sql`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartitionBound {
    /// `DEFAULT`.
    Default,
    /// `FOR VALUES IN (...)`.
    In(Vec<BoundDatum>),
    /// `FOR VALUES FROM (...) TO (...)`.
    Range { from: Vec<BoundDatum>, to: Vec<BoundDatum> },
    /// `FOR VALUES WITH (MODULUS m, REMAINDER r)`.
    Hash { modulus: u32, remainder: u32 },
}

/// One value of a partition bound.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BoundDatum {
    MinValue,
    MaxValue,
    Null,
    /// One constant exactly as PostgreSQL prints it in a bound: a quoted string
    /// (`'2026-01-01'`, `'-5'`), an unsigned number, `true`/`false` or a bit string
    /// (`B'101'`). Only a text that is one such token is ever stored here (see
    /// `cutover_sql::bound`), so it is emitted whole.
    Constant(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    /// As `format_type` prints it, with modifiers: `character varying(20)`, `numeric(10,2)[]`.
    pub data_type: String,
    pub not_null: bool,
    pub default: Option<String>,
    pub identity: Option<Identity>,
    /// Set for a `GENERATED ALWAYS AS (...)` column.
    pub generated: Option<Generated>,
    /// Set only when it differs from the type's default collation.
    pub collation: Option<QualName>,
    /// False for a column that only exists because a parent table has it.
    pub is_local: bool,
    pub comment: Option<String>,
    /// Column-level privileges.
    pub grants: BTreeSet<Grant>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Generated {
    pub expression: String,
    /// `STORED`; false for PostgreSQL 18's `VIRTUAL` columns.
    pub stored: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// `ALWAYS` or `BY DEFAULT`.
    pub always: bool,
    pub sequence: SequenceOptions,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConstraintKind {
    PrimaryKey,
    Unique,
    ForeignKey,
    Check,
    Exclusion,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Constraint {
    pub kind: ConstraintKind,
    /// As `pg_get_constraintdef` prints it, without a trailing `NOT VALID`.
    pub definition: String,
    /// Constrained columns, in key order.
    pub columns: Vec<String>,
    /// False when added `NOT VALID` and never validated.
    pub validated: bool,
    pub deferrable: bool,
    pub initially_deferred: bool,
    pub foreign_key: Option<ForeignKey>,
    /// For primary keys, unique and exclusion constraints: the name of the implementing index.
    pub index: Option<String>,
    /// Primary keys and unique constraints: the `INCLUDE (...)` columns of their index.
    #[serde(default)]
    pub include_columns: Vec<String>,
    /// Unique constraints: `NULLS NOT DISTINCT` (PostgreSQL 15+), from their index.
    #[serde(default)]
    pub nulls_not_distinct: bool,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignKey {
    pub referenced_table: QualName,
    pub referenced_columns: Vec<String>,
    pub on_update: ForeignKeyAction,
    pub on_delete: ForeignKeyAction,
    pub match_type: MatchType,
}

/// What a foreign key does to referencing rows when the referenced row is updated or
/// deleted (`pg_constraint.confupdtype` / `confdeltype`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForeignKeyAction {
    NoAction,
    Restrict,
    Cascade,
    SetNull,
    SetDefault,
}

impl ForeignKeyAction {
    /// From the catalog's letter: `a` no action, `r` restrict, `c` cascade, `n` set null,
    /// `d` set default.
    pub fn from_catalog(letter: &str) -> Option<ForeignKeyAction> {
        Some(match letter {
            "a" => ForeignKeyAction::NoAction,
            "r" => ForeignKeyAction::Restrict,
            "c" => ForeignKeyAction::Cascade,
            "n" => ForeignKeyAction::SetNull,
            "d" => ForeignKeyAction::SetDefault,
            _ => return None,
        })
    }
}

/// How a foreign key matches multi-column keys with NULLs (`pg_constraint.confmatchtype`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchType {
    Simple,
    Full,
    Partial,
}

impl MatchType {
    /// From the catalog's letter: `s` simple, `f` full, `p` partial.
    pub fn from_catalog(letter: &str) -> Option<MatchType> {
        Some(match letter {
            "s" => MatchType::Simple,
            "f" => MatchType::Full,
            "p" => MatchType::Partial,
            _ => return None,
        })
    }
}

/// A standalone index. Everything `CREATE INDEX` says is here, so the statement is
/// rendered from the model (see `cutover-sql`) rather than copied from the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    /// Access method (`pg_am.amname`, unquoted): `btree`, `gin`, `gist`, `brin`, `hash`, ...
    pub method: String,
    pub unique: bool,
    pub keys: Vec<IndexKey>,
    /// `INCLUDE (...)` columns.
    pub include_columns: Vec<String>,
    /// `WHERE` clause of a partial index, as `pg_get_expr` prints it.
    pub predicate: Option<String>,
    pub nulls_not_distinct: bool,
    /// Storage parameters (`WITH (...)`), `name=value`, sorted.
    pub options: Vec<String>,
    /// False for an index left behind by a failed `CREATE INDEX CONCURRENTLY`.
    pub valid: bool,
    /// The partitioned index this partition's index is attached to.
    pub parent_index: Option<QualName>,
    pub comment: Option<String>,
}

impl Index {
    /// Whether two indexes are built the same way (validity, parent and comment aside).
    pub fn same_definition(&self, other: &Index) -> bool {
        self.method == other.method
            && self.unique == other.unique
            && self.keys == other.keys
            && self.include_columns == other.include_columns
            && self.predicate == other.predicate
            && self.nulls_not_distinct == other.nulls_not_distinct
            && self.options == other.options
    }

    /// Key columns by name; `None` for expressions.
    pub fn key_columns(&self) -> Vec<Option<&str>> {
        self.keys.iter().map(|k| k.column.as_deref()).collect()
    }
}

/// One key of an index: a column or an expression, with its ordering and operator class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexKey {
    pub column: Option<String>,
    /// The expression when the key is not a plain column, as `pg_get_indexdef` prints the
    /// key (in parentheses unless it is a function call).
    pub expression: Option<String>,
    /// Set when it differs from the column's collation.
    pub collation: Option<QualName>,
    /// Set when it is not the default operator class. Unquoted; an operator class of
    /// `pg_catalog` is printed without its schema, as `pg_get_indexdef` does.
    pub opclass: Option<QualName>,
    /// Operator class parameters, `name=value`.
    pub opclass_options: Vec<String>,
    pub descending: bool,
    /// NULLS FIRST (the default for descending keys) rather than NULLS LAST.
    pub nulls_first: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trigger {
    /// `CREATE TRIGGER ...` as `pg_get_triggerdef` prints it, emitted whole. The table it
    /// is on is the one that holds it in the model (`pg_trigger.tgrelid`).
    pub definition: String,
    pub function: FunctionId,
    /// `O` origin (enabled), `D` disabled, `R` replica, `A` always.
    pub enabled: char,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// `ALL`, `SELECT`, `INSERT`, `UPDATE` or `DELETE`.
    pub command: String,
    pub permissive: bool,
    /// The roles it applies to, sorted; `[Public]` for all.
    pub roles: Vec<Grantee>,
    pub using: Option<String>,
    pub with_check: Option<String>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct View {
    pub materialized: bool,
    /// The query as `pg_get_viewdef` prints it.
    pub definition: String,
    pub columns: Vec<ViewColumn>,
    /// `check_option`, `security_barrier`, `security_invoker` and other reloptions, sorted.
    pub options: Vec<String>,
    /// Materialized views only: whether it holds data.
    pub populated: bool,
    /// Materialized views only: their indexes.
    pub indexes: BTreeMap<String, Index>,
    /// `INSTEAD OF` and other triggers on the view.
    pub triggers: BTreeMap<String, Trigger>,
    pub comment: Option<String>,
    pub grants: BTreeSet<Grant>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewColumn {
    pub name: String,
    pub data_type: String,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Volatility {
    Immutable,
    Stable,
    /// PostgreSQL's default for a routine that does not say.
    #[default]
    Volatile,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoutineKind {
    Function,
    Procedure,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Function {
    pub kind: RoutineKind,
    /// `CREATE OR REPLACE FUNCTION ...` as `pg_get_functiondef` prints it, emitted whole.
    pub definition: String,
    pub language: String,
    /// A SQL-standard body (`BEGIN ATOMIC ...` or `RETURN ...`, PostgreSQL 14+), which
    /// PostgreSQL parses at creation and tracks dependencies of (`pg_proc.prosqlbody`),
    /// rather than a string.
    #[serde(default)]
    pub sql_body: bool,
    /// `pg_proc.provolatile`.
    #[serde(default)]
    pub volatility: Volatility,
    /// Arguments with names and defaults, as `pg_get_function_arguments` prints them.
    pub arguments: String,
    /// As `pg_get_function_result` prints it; `None` for procedures.
    pub result: Option<String>,
    pub comment: Option<String>,
    pub grants: BTreeSet<Grant>,
}

impl Catalog {
    /// The catalog in the form used to decide whether two catalogs hold the same schema:
    /// facts and dependencies cleared (dependencies are derived, and PostgreSQL's choices in
    /// them can differ between equal schemas, such as which of two unique indexes on the
    /// same columns a foreign key uses), table columns sorted by name (a column added later
    /// lands at the end of the table, which changes nothing a query can see by name), and
    /// the "declared locally too" flag of inherited columns ignored (no DDL can clear it).
    pub fn canonical(&self) -> Catalog {
        let mut out = self.clone();
        out.facts = Facts::default();
        out.dependencies.clear();
        for table in out.tables.values_mut() {
            table.columns.sort_by(|a, b| a.name.cmp(&b.name));
            if !table.inherits.is_empty() {
                for column in &mut table.columns {
                    column.is_local = true;
                }
            }
        }
        out
    }
}
