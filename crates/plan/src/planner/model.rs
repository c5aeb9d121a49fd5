//! The plan: phases of steps, each with its locks, hazards, timeouts, rollback and estimate.
//! The JSON form is the contract of product.md ("Plan JSON").

use crate::hazard::{BlockerCode, Hazard};
use crate::locks::LockMode;
use cutover_schema::{FunctionId, PartitionBound, QualName};
use cutover_sql::ddl::Conversion;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The deploy phases, in order. The contract phase never ships with the expand phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseName {
    /// Add what the new application needs; the old application keeps working.
    Expand,
    /// Fill new columns from old ones, in batches, while both versions run.
    Backfill,
    /// Enforce the new shape (validate, NOT NULL, swap names) once data is in place.
    Switch,
    /// Remove what only the old application used, after it is gone.
    Contract,
}

impl PhaseName {
    pub const ALL: [PhaseName; 4] = [PhaseName::Expand, PhaseName::Backfill, PhaseName::Switch, PhaseName::Contract];

    pub fn as_str(self) -> &'static str {
        match self {
            PhaseName::Expand => "expand",
            PhaseName::Backfill => "backfill",
            PhaseName::Switch => "switch",
            PhaseName::Contract => "contract",
        }
    }

    pub fn parse(name: &str) -> Option<PhaseName> {
        PhaseName::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

impl fmt::Display for PhaseName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub version: u32,
    pub server_version_num: u32,
    pub phases: Vec<Phase>,
    /// Changes the plan refuses to make: nothing may be applied while there are blockers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blockers: Vec<Blocker>,
    /// What the plan was made against: a fingerprint of each existing table its steps lock,
    /// by quoted qualified name. `apply` refuses a database whose tables differ before the
    /// plan's first step. Absent from plans made before the field existed (not checked).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub relations: BTreeMap<String, Fingerprint>,
}

/// Hashes of the parts of a table a plan relies on (see `planner::fingerprint`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub columns: String,
    pub constraints: String,
    pub indexes: String,
    pub triggers: String,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.phases.is_empty() && self.blockers.is_empty()
    }

    pub fn steps(&self) -> impl Iterator<Item = (&Phase, &Step)> {
        self.phases.iter().flat_map(|p| p.steps.iter().map(move |s| (p, s)))
    }

    pub fn phase(&self, name: PhaseName) -> Option<&Phase> {
        self.phases.iter().find(|p| p.name == name)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    pub name: PhaseName,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// One statement, or several to run in one transaction when `transactional`.
    pub sql: String,
    pub transactional: bool,
    pub locks: Vec<Lock>,
    pub rewrites_table: bool,
    pub scans_table: bool,
    pub lock_timeout_ms: u64,
    pub statement_timeout_ms: u64,
    pub hazards: Vec<Hazard>,
    /// What undoes the step; `None` when it cannot be undone (data is gone).
    pub rollback_sql: Option<String>,
    pub estimate: Option<Estimate>,
    /// Why the step is safe, or what it risks, in a sentence or two.
    pub why: String,
    /// For backfill steps: run `sql` repeatedly until it changes no rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backfill: Option<Backfill>,
    /// For a CREATE INDEX CONCURRENTLY step: the index it builds. A build that fails or is
    /// interrupted leaves this index INVALID; `apply` drops it by this name before retrying.
    /// Absent from plans made before the field existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builds_index: Option<QualName>,
    /// For the other steps that run outside a transaction: what they change, as structure.
    /// A runner that dies during such a step leaves no record of how far it got, and running
    /// it again may fail (the index is gone, the detach is pending, the value exists);
    /// `apply` reads the catalog instead. Absent from plans made before the field existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<Effect>,
    /// What the database holds once the step is done, as structure, for `cutover verify`
    /// (see `plan::verify`). Empty for steps that leave nothing verify checks, and in plans
    /// made before the field existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub postconditions: Vec<Postcondition>,
    /// What the step changes that application code names: the tables and columns it drops,
    /// renames or retypes. The application must have stopped relying on the old shape before
    /// the step runs (`cutover impact` searches a repository for them). Empty for other
    /// steps, and in plans made before the field existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub app_changes: Vec<AppChange>,
}

/// A change application code can notice, as structure (see [`Step::app_changes`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AppChange {
    DropTable {
        table: QualName,
    },
    /// The table is reached under `to` (same schema) from now on; the old name goes.
    RenameTable {
        table: QualName,
        to: String,
    },
    DropColumn {
        table: QualName,
        column: String,
    },
    RenameColumn {
        table: QualName,
        column: String,
        to: String,
    },
    /// `from` and `to` as PostgreSQL prints types (`format_type`).
    RetypeColumn {
        table: QualName,
        column: String,
        from: String,
        to: String,
    },
}

impl AppChange {
    /// The table the change is about (its name before the change).
    pub fn table(&self) -> &QualName {
        match self {
            AppChange::DropTable { table }
            | AppChange::RenameTable { table, .. }
            | AppChange::DropColumn { table, .. }
            | AppChange::RenameColumn { table, .. }
            | AppChange::RetypeColumn { table, .. } => table,
        }
    }

    /// The column the change is about, if it is about a column.
    pub fn column(&self) -> Option<&str> {
        match self {
            AppChange::DropColumn { column, .. }
            | AppChange::RenameColumn { column, .. }
            | AppChange::RetypeColumn { column, .. } => Some(column),
            AppChange::DropTable { .. } | AppChange::RenameTable { .. } => None,
        }
    }
}

/// What a step that runs outside a transaction changes (see [`Step::effect`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Effect {
    /// `DROP INDEX CONCURRENTLY`: done once the index is gone. An interrupted drop leaves it
    /// INVALID (its first transaction clears `indisvalid`), and it is dropped again.
    DropIndex { index: QualName },
    /// `ALTER TABLE parent DETACH PARTITION partition CONCURRENTLY` (PostgreSQL 14+): done
    /// once the partition is no longer attached. An interrupted detach leaves it pending
    /// (`pg_inherits.inhdetachpending`), which only `... DETACH PARTITION ... FINALIZE` ends.
    DetachPartition { parent: QualName, partition: QualName },
    /// `ALTER TYPE ... ADD VALUE`: done once the type has the value.
    AddEnumValue { type_name: QualName, value: String },
}

/// One fact a done step leaves in the database. `exists: false` says the object is gone;
/// `None` for `not_null` or `validated` says the step leaves that property as it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Postcondition {
    Table {
        table: QualName,
        exists: bool,
    },
    Column {
        table: QualName,
        column: String,
        exists: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        not_null: Option<bool>,
    },
    /// An index; when it exists it must be valid (`pg_index.indisvalid`).
    Index {
        index: QualName,
        /// The table it is on (for its row count, and so a dropped table takes its checks).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        table: Option<QualName>,
        exists: bool,
    },
    Constraint {
        table: QualName,
        name: String,
        exists: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        validated: Option<bool>,
    },
    Trigger {
        table: QualName,
        name: String,
        exists: bool,
    },
    /// A backfilled column: no row left NULL where `source` is not NULL (every row when
    /// there is no source column).
    Filled {
        table: QualName,
        column: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source: Option<String>,
    },
    /// Before the swap of a type change through a new column: `new` holds `old` converted
    /// to `data_type` in every row.
    Agrees {
        table: QualName,
        old: String,
        new: String,
        data_type: String,
        conversion: Conversion,
    },
    /// A view (or materialized view) exists as that kind, or is gone.
    View {
        view: QualName,
        materialized: bool,
        exists: bool,
    },
    /// A function or procedure, by name and identity arguments as
    /// `pg_get_function_identity_arguments` prints them.
    Routine {
        routine: FunctionId,
        exists: bool,
    },
    /// A type (enum, domain, composite) exists or is gone.
    Type {
        name: QualName,
        exists: bool,
    },
    /// An enum has these labels, in this order (others may sit between them).
    EnumLabels {
        name: QualName,
        labels: Vec<String>,
    },
    Sequence {
        sequence: QualName,
        exists: bool,
    },
    Policy {
        table: QualName,
        name: String,
        exists: bool,
    },
    /// Row-level security is enabled (or disabled) on the table.
    RowSecurity {
        table: QualName,
        enabled: bool,
    },
    /// An extended statistics object.
    Statistics {
        statistics: QualName,
        exists: bool,
    },
    /// A column's default as the catalog prints it (`pg_get_expr` with an empty
    /// search_path), or no default.
    Default {
        table: QualName,
        column: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        default: Option<String>,
    },
    /// A column is an identity column (`always`: GENERATED ALWAYS, else BY DEFAULT), or is
    /// not one (`None`).
    Identity {
        table: QualName,
        column: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        always: Option<bool>,
    },
    /// A partition is attached to `parent` with `bound`, or (`None`) is detached from it.
    Partition {
        parent: QualName,
        partition: QualName,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bound: Option<PartitionBound>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lock {
    pub mode: LockMode,
    pub relation: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub rows: u64,
    pub seconds: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backfill {
    /// The table being filled, schema-qualified.
    pub table: String,
    /// Rows changed per batch.
    pub batch_size: u64,
    /// What the backfill engine runs: the table, the key it walks, the column and its new
    /// value. Absent from plans made before the field existed (their `sql` is repeated until
    /// it changes no row).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<BackfillSpec>,
}

pub use cutover_sql::backfill::{Key as BackfillKey, KeyColumn, Spec as BackfillSpec};

/// A change the planner will not make as asked, with the ways forward.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocker {
    pub code: BlockerCode,
    /// The statement the diff asked for.
    pub sql: String,
    pub message: String,
    pub options: Vec<String>,
    /// The hazards the statement would have if it ran as asked (the options say the way out).
    /// Empty for blockers that are not about one statement, and in plans made before the
    /// field existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hazards: Vec<Hazard>,
}
