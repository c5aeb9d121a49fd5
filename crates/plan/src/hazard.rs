//! Hazards: what can go wrong when a statement runs on a live database; blocker codes: why
//! the planner refuses a change.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The hazard codes of the product contract (product.md, "Hazard codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HazardCode {
    AccessExclusiveLock,
    BlocksWrites,
    TableRewrite,
    FullScanUnderLock,
    IndexBuild,
    IndexDropped,
    DataLoss,
    BreaksRunningCode,
    MayFailOnExistingData,
    PerformanceImpact,
    UntrackedDependencies,
    PrivilegesChange,
    ExtensionChange,
    NonTransactional,
}

impl HazardCode {
    pub fn as_str(self) -> &'static str {
        match self {
            HazardCode::AccessExclusiveLock => "access_exclusive_lock",
            HazardCode::BlocksWrites => "blocks_writes",
            HazardCode::TableRewrite => "table_rewrite",
            HazardCode::FullScanUnderLock => "full_scan_under_lock",
            HazardCode::IndexBuild => "index_build",
            HazardCode::IndexDropped => "index_dropped",
            HazardCode::DataLoss => "data_loss",
            HazardCode::BreaksRunningCode => "breaks_running_code",
            HazardCode::MayFailOnExistingData => "may_fail_on_existing_data",
            HazardCode::PerformanceImpact => "performance_impact",
            HazardCode::UntrackedDependencies => "untracked_dependencies",
            HazardCode::PrivilegesChange => "privileges_change",
            HazardCode::ExtensionChange => "extension_change",
            HazardCode::NonTransactional => "non_transactional",
        }
    }
}

impl fmt::Display for HazardCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why the planner refuses a change as asked (`Blocker::code`), by name in plans, JSON and
/// messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockerCode {
    /// Adding the column rewrites a large table (a volatile default, a stored generated column).
    AddColumnRewrite,
    /// The type change rewrites a large table and cannot move to a new column.
    ColumnTypeRewrite,
    /// The constraint can only be checked under a lock that stops writes on a large table.
    ConstraintValidationUnderLock,
    /// A step that destroys data would have to run before the contract phase.
    DestructiveStepNeededEarly,
    /// A step that blocks writes is estimated to take longer than the request's downtime
    /// window.
    DowntimeWindowExceeded,
    /// An exclusion constraint has no concurrent build.
    ExclusionConstraintUnderLock,
    /// An index on a partitioned table cannot be built concurrently as asked.
    IndexOnPartitionedTable,
    /// A NOT NULL column without a default cannot be added to a table that has rows.
    NotNullWithoutDefault,
    /// Changing whether a large table is logged rewrites it.
    PersistenceRewrite,
    /// A rename the user named matches no dropped and added column or table of the diff.
    RenameNotInDiff,
    /// The column a rename names does not exist.
    RenameUnknownColumn,
    /// A rename and a type change in one step.
    RenameWithTypeChange,
    /// A unique constraint on a partitioned table cannot be built concurrently.
    UniqueOnPartitionedTable,
}

impl BlockerCode {
    pub fn as_str(self) -> &'static str {
        match self {
            BlockerCode::AddColumnRewrite => "add_column_rewrite",
            BlockerCode::ColumnTypeRewrite => "column_type_rewrite",
            BlockerCode::ConstraintValidationUnderLock => "constraint_validation_under_lock",
            BlockerCode::DestructiveStepNeededEarly => "destructive_step_needed_early",
            BlockerCode::DowntimeWindowExceeded => "downtime_window_exceeded",
            BlockerCode::ExclusionConstraintUnderLock => "exclusion_constraint_under_lock",
            BlockerCode::IndexOnPartitionedTable => "index_on_partitioned_table",
            BlockerCode::NotNullWithoutDefault => "not_null_without_default",
            BlockerCode::PersistenceRewrite => "persistence_rewrite",
            BlockerCode::RenameNotInDiff => "rename_not_in_diff",
            BlockerCode::RenameUnknownColumn => "rename_unknown_column",
            BlockerCode::RenameWithTypeChange => "rename_with_type_change",
            BlockerCode::UniqueOnPartitionedTable => "unique_on_partitioned_table",
        }
    }
}

impl fmt::Display for BlockerCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hazard {
    pub code: HazardCode,
    pub message: String,
}

impl Hazard {
    pub fn new(code: HazardCode, message: impl Into<String>) -> Hazard {
        Hazard { code, message: message.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialized_codes_match_the_contract() {
        for code in [HazardCode::DataLoss, HazardCode::AccessExclusiveLock, HazardCode::NonTransactional] {
            assert_eq!(serde_json::to_string(&code).unwrap(), format!("\"{}\"", code.as_str()));
        }
        for code in [BlockerCode::AddColumnRewrite, BlockerCode::RenameNotInDiff, BlockerCode::UniqueOnPartitionedTable]
        {
            assert_eq!(serde_json::to_string(&code).unwrap(), format!("\"{}\"", code.as_str()));
        }
    }
}
