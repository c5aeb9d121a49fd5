//! Hazards: what can go wrong when a statement runs on a live database.

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
    }
}
